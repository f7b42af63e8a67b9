// One pacer per provider: the targets of one provider share its pacer (a 429 pauses them all), and another provider's calls are never held by it.
import { type PacerLimits, ProviderPacer } from "./provider_pacer.ts";

export class ProviderPacers {
  readonly #pacers = new Map<string, ProviderPacer>();

  /** `limits` shape every pacer made (the CLI's lanes share each provider's window). */
  constructor(private readonly limits?: PacerLimits) {}

  /** The provider's pacer, made on first use. */
  for(providerName: string): ProviderPacer {
    let pacer = this.#pacers.get(providerName);
    if (!pacer) {
      pacer = new ProviderPacer(this.limits);
      this.#pacers.set(providerName, pacer);
    }
    return pacer;
  }
}
