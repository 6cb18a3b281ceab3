// Several files on one stdin with no in-band marker: every part but the last is preceded by its
// length in bytes, as ten decimal digits; the last part is the rest of the stream. Whatever a
// part holds, it cannot end early or start another part.
const WIDTH = 10;

/** The stdin that carries `parts` in order. */
export function framed(parts: readonly string[]): string {
  const last = parts.length - 1;
  return parts.map((p, i) => (i === last ? p : String(Buffer.byteLength(p, 'utf8')).padStart(WIDTH, '0') + p)).join('');
}

/**
 * POSIX sh lines that write the parts of stdin into the given files (paths as shell words, such
 * as "$work/client.cnf"). GNU head -c reads no more than it is asked, even from a pipe.
 */
export function unframeScript(paths: readonly string[]): string[] {
  const last = paths.length - 1;
  return paths.flatMap((p, i) =>
    i === last
      ? [`cat > ${p}`]
      : [
          `n=$(head -c ${WIDTH})`,
          `case $n in *[!0-9]*|'') echo 'tandem: stdin is not in frames' >&2; exit 2;; esac`,
          // Leading zeros off, so the length is not read as octal anywhere.
          `n=\${n#"\${n%%[!0]*}"}`,
          `head -c "\${n:-0}" > ${p}`,
        ],
  );
}
