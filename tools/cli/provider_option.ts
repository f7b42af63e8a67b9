// The --provider flag: the real providers' names in --help; the stand-in accepted too, for measurements, but not advertised.
import { InvalidArgumentError, Option } from "npm:commander@14.0.3";
import { providerNames } from "../../supabase/functions/_shared/providers/embedding_provider.ts";
import { providerChoices } from "./provider_choice.ts";

export function providerOption(description: string): Option {
  return new Option("--provider <name>", `${description}: ${providerNames.join(", ")}`)
    .argParser((value: string) => {
      if (!providerChoices.includes(value)) {
        throw new InvalidArgumentError(`Allowed choices are ${providerNames.join(", ")}.`);
      }
      return value;
    });
}
