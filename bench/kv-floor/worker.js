// The floor of this project's index-read design, for scripts/bench: a
// minimal Worker that answers every request with one KV read (value and
// metadata), as the registry's steady-state index GET does, and nothing
// else (no auth, no routing, no headers beyond the ETag).
export default {
  async fetch(req, env) {
    const { value, metadata } = await env.KV.getWithMetadata("file");
    return new Response(value, { headers: { etag: metadata ? metadata.etag : "" } });
  },
};
