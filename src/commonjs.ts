// A CommonJS package loaded with import(): Node hands its exports both as named exports and as
// `default`, but the bundle in dist/ (esbuild) hands them as `default` only, so a named export
// read from the namespace is undefined there. Read them from `default` when there is one.
export function commonJsExports<T extends object>(namespace: T): T {
  return (namespace as { default?: T }).default ?? namespace;
}
