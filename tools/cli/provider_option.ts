// The --provider flag: one provider's name or a comma-separated list; the real providers' names in --help; the stand-in accepted too (alone), for measurements, but not advertised.
import { InvalidArgumentError, Option } from "npm:commander@14.0.3";
import { splitProviderNames } from "../../supabase/functions/_shared/embed_config.ts";
import { providerNames } from "../../supabase/functions/_shared/providers/embedding_provider.ts";
import { providerChoices, standInProviderName } from "./provider_choice.ts";

/** Checks every name of the list; the stand-in only alone. */
export function parseProviderFlag(value: string): string {
  const names = splitProviderNames(value);
  if (names.length === 0 || names.some((name) => !providerChoices.includes(name))) {
    throw new InvalidArgumentError(
      `Allowed choices are ${providerNames.join(", ")} (one, or several separated by commas).`,
    );
  }
  if (names.length > 1 && names.includes(standInProviderName)) {
    throw new InvalidArgumentError(`${standInProviderName} is a measurement aid: name it alone.`);
  }
  return names.join(",");
}

export function providerOption(description: string): Option {
  return new Option("--provider <name>", `${description}: ${providerNames.join(", ")}`)
    .argParser(parseProviderFlag);
}
