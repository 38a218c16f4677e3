// Package transfer streams a dataset into the stage Pod as tar over exec,
// verifies it by SHA-256 and swaps it into place.
package transfer

// The scripts run in the stage Pod under busybox sh. The table name is passed
// as a positional argument ($1), never spliced into the script text, so no
// value can become shell code. Table names are checked before this anyway.

// Remote exit codes, mapped to messages by the client.
const (
	codeMissingTool = 127
	codeMismatch    = 65
	codeNoAccess    = 73
	codeExtract     = 74
	codeSwap        = 75
	codeNoSpace     = 76
	codeInterrupted = 66
)

// partialMaxAgeDays is how long the partial copy of an interrupted push waits
// for a push of its table before any push removes it (README: "7 days").
const partialMaxAgeDays = "7"

// prelude sets paths and checks the image has every tool the scripts use.
const prelude = `set -u
S="${TRACEBLOC_STAGING_ROOT:-/data/shared/.tracebloc-staging}"
T="$S/$1"
P="$S/.partial-$1"
M="$S/.$1.manifest"
say() { echo "$*" >&2; }
# die reports the exit code on stderr first: the client ends the stream when
# it reads that line. Until then, stdin is drained, because a container
# runtime may hold the exec open until its stdin ends.
die() { say "$2"; echo "tracebloc-exit $1" >&2; cat >/dev/null; exit "$1"; }
for t in tar sha256sum find sort cmp awk xargs tr sed mv rm ln mkdir; do
  command -v "$t" >/dev/null 2>&1 || die 127 "the stage image has no $t: use an image with busybox sh, tar and sha256sum (--stage-image)"
done
mkdir -p "$S" 2>/dev/null || die 73 "cannot create $S on the shared volume: check that client-pvc is writable by uid 65532 / fsGroup 65532"
# Partial data of pushes that never came back is dropped after PartialMaxAge.
find "$S" -maxdepth 1 -name '.partial-*' ! -name ".partial-$1" -mtime +` + partialMaxAgeDays + ` -exec rm -rf {} + 2>/dev/null
# A swap cut short between its two renames left the previous copy aside:
# put it back. Copies set aside by a finished swap are removed.
for o in "$S/.old-$1-"*; do
  [ -d "$o" ] || continue
  if [ ! -d "$T" ]; then mv "$o" "$T"; else rm -rf "$o"; fi
done
`

// inventoryPart lists what the volume already holds for the table: the
// staged copy ("S <sha256>  ./<path>") and the partial copy an interrupted
// push left ("P ..."). Files of the partial copy that are hard links (to the
// staged copy) are dropped first, so a later extract never writes through a
// link into the live copy. It runs in a subshell, so its cd stays there.
//
// The staged copy's hashes come from the manifest written by the last push
// when a file's size, mtime and inode still match it; any other file is
// hashed here. The manifest is only a hint: the apply part hashes the whole
// new copy again before it swaps, so a stale or forged manifest costs a
// second round, never a wrong copy.
const inventoryPart = `
if [ -d "$P/data" ]; then
  cd "$P/data" || exit 73
  find . -type f -links +1 -exec rm -f {} +
  find . -type f -exec sha256sum {} + | sed 's/^/P /'
fi
if [ -d "$T" ]; then
  cd "$T" || exit 73
  find . -type f -exec stat -c '%s %Y %i %n' {} + > /tmp/stat
  : > /tmp/unknown
  man=/dev/null
  [ -f "$M" ] && man="$M"
  awk -v unknown=/tmp/unknown '
    function strip(s, n) { while (n-- > 0) s = substr(s, index(s, " ") + 1); return s }
    FILENAME == ARGV[1] { sum[substr($0, 66)] = substr($0, 1, 64); next }
    ($0 in sum) { print "S " sum[$0] "  " strip($0, 3); next }
    { print strip($0, 3) > unknown }
  ' "$man" /tmp/stat
  if [ -s /tmp/unknown ]; then
    tr '\n' '\0' < /tmp/unknown | xargs -0 sha256sum | sed 's/^/S /'
  fi
fi
exit 0
`

// inventoryEnd closes the inventory on stdout; the stream is sent after it.
const inventoryEnd = "TRACEBLOC-INVENTORY-END"

// stageScript is the whole staging in one exec: it prints the inventory,
// then reads the tar the client builds from it. With "resend" as its second
// argument (a round after a mismatch, whose plan the client already has) it
// skips the inventory.
const stageScript = prelude + `
if [ "${2:-}" != resend ]; then
  (` + inventoryPart + `) || die 73 "reading the staged copy on the shared volume failed"
fi
echo ` + inventoryEnd + `
` + applyPart

// applyPart extracts the stream into the partial copy, applies the plan
// (removals, files reused from the staged copy by hard link), verifies every
// file against the expected SHA-256 list, and swaps the new copy in by rename,
// keeping the old one until the swap succeeded.
const applyPart = `
mkdir -p "$P/data" || die 73 "cannot create $P"
CORES="$(nproc 2>/dev/null || echo 2)"
cd "$P" || exit 73
rm -rf plan
rm -f /tmp/sums.* /tmp/tar.rc
# Files are hashed while the stream is still arriving, by one worker per
# core. tar names an entry before it writes it, so a file is handed on only
# when the next name (or the end of the stream) shows tar has finished it.
# (xargs -P is not used here: busybox xargs takes an interrupted read of a
# slow pipe for the end of its input.)
{ tar -xvf - 2>/tmp/tar.err; echo $? > /tmp/tar.rc; } |
  awk -v cores="$CORES" '
    BEGIN { for (i = 0; i < cores; i++) w[i] = "cd data && tr \"\\n\" \"\\0\" | xargs -0 -r -n 16 sha256sum >> /tmp/sums." i }
    function hand(f) { print f | w[n % cores]; fflush(w[n % cores]); n++ }
    index($0, "data/") != 1 || substr($0, length($0)) == "/" { next }
    { if (prev != "") hand(prev); prev = "./" substr($0, 6) }
    END { if (prev != "") hand(prev); for (i = 0; i < cores; i++) close(w[i]) }'
if [ "$(cat /tmp/tar.rc 2>/dev/null)" != 0 ]; then
  if grep -q "No space left" /tmp/tar.err; then
    cd "$S" && rm -rf "$P"
    die 76 "no space left on device: the shared volume is full; free space on client-pvc or grow it, then push again"
  fi
  cat /tmp/tar.err >&2
  die 74 "extracting the stream failed"
fi
[ -f plan/expected ] || die 74 "the stream ended before the file list: nothing was changed"
[ -f plan/interrupted ] && die 66 "interrupted: the files received so far are kept for the next push"
if [ -s plan/remove ]; then
  tr '\n' '\0' < plan/remove | (cd data && xargs -0 rm -f --)
fi
if [ -s plan/reuse ]; then
  mkdir -p data/images
  if grep -qx labels.csv plan/reuse; then
    ln -f "$T/labels.csv" data/labels.csv || die 74 "cannot reuse labels.csv from the staged copy"
  fi
  sed -n 's|^images/||p' plan/reuse > plan/reuse-images
  if [ -s plan/reuse-images ]; then
    tr '\n' '\0' < plan/reuse-images |
      (cd "$T/images" && xargs -0 -r sh -c 'ln -f -- "$@" "$0"' "$P/data/images") ||
      die 74 "cannot reuse images from the staged copy"
  fi
fi
find data -mindepth 1 -maxdepth 1 ! -name labels.csv ! -name images -exec rm -rf {} +
[ -d data/images ] && find data/images -mindepth 1 ! -type f -exec rm -rf {} +
# Hash what the stream did not bring (files reused or resumed); hashes of
# streamed files that are gone again are dropped.
cat /tmp/sums.* 2>/dev/null > plan/streamed
(cd data && find . -type f) > plan/files
awk 'FILENAME == ARGV[1] { have[substr($0, 67)] = $0; next }
  ($0 in have) { print have[$0] > "plan/kept"; next }
  { print }' plan/streamed plan/files > plan/tohash
rm -f /tmp/sums.*
touch plan/kept
(cd data && tr '\n' '\0' < ../plan/tohash |
  xargs -0 -r -P "$CORES" -n 128 sh -c 'sha256sum "$@" >> /tmp/sums.$$' sh) ||
  die 74 "hashing the extracted files failed"
cat plan/kept /tmp/sums.* 2>/dev/null | LC_ALL=C sort > plan/actual
rm -f /tmp/sums.*
LC_ALL=C sort plan/expected > plan/want
if ! cmp -s plan/want plan/actual; then
  awk 'NR == FNR { want[$0]; next } !($0 in want) { print substr($0, 67) }' plan/want plan/actual > plan/bad
  tr '\n' '\0' < plan/bad | (cd data && xargs -0 rm -f --)
  sed 's/^/A /' plan/actual
  exit 65
fi
OLD="$S/.old-$1-$$"
if [ -d "$T" ]; then
  mv "$T" "$OLD" || die 75 "cannot move the previous copy aside: nothing was changed"
fi
if ! mv data "$T"; then
  [ -d "$OLD" ] && mv "$OLD" "$T"
  die 75 "cannot swap the new copy in: the previous copy is back in place"
fi
cp plan/actual /tmp/actual
cd "$S" || exit 73
rm -rf "$OLD" "$P"
echo "SWAPPED"
# The manifest of the new copy, for the next push's inventory.
(cd "$T" && find . -type f -exec stat -c '%s %Y %i %n' {} +) > /tmp/stat
awk 'FILENAME == ARGV[1] { sum[substr($0, 67)] = substr($0, 1, 64); next }
  { rel = $0; for (i = 0; i < 3; i++) rel = substr(rel, index(rel, " ") + 1) }
  (rel in sum) { print sum[rel] " " $0 }' /tmp/actual /tmp/stat > "$M.tmp" && mv "$M.tmp" "$M" || rm -f "$M.tmp" "$M"
exit 0
`
