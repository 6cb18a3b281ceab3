// What may name a release: the version names the release's folder on every server. Kept apart
// from the builder so that parsing `--version` does not load it.
export const VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$/;
