// Colours for the command line's text: only when stdout is a terminal and NO_COLOR is not set.
//
// picocolors: tiny, dependency-free and widely used; createColors(false) gives plain text, so the
// decision (terminal, NO_COLOR through Deno.noColor) is made here and nowhere else.
import picocolors from "npm:picocolors@1.1.1";

export type Colors = ReturnType<typeof picocolors.createColors>;

export function terminalColors(): Colors {
  return picocolors.createColors(Deno.stdout.isTerminal() && !Deno.noColor);
}
