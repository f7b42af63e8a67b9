// JSON answers of the search function, with the CORS headers a browser's supabase.functions.invoke needs.

/** What supabase-js sends; any origin may call, the credential decides what it sees. */
export const corsHeaders: Readonly<Record<string, string>> = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "authorization, x-client-info, apikey, content-type",
  "access-control-allow-methods": "POST, OPTIONS",
};

export function jsonAnswer(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body, null, 2), {
    status,
    headers: { ...corsHeaders, ...headers, "content-type": "application/json" },
  });
}

/** The answer to a browser's CORS preflight: no body. */
export function preflightAnswer(): Response {
  return new Response(null, { status: 204, headers: { ...corsHeaders } });
}
