/** A mount under many processes at once: 64 of them, each doing a mix of operations, in their own and in shared directories. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fuseUnavailable, mountedVolume } from './mount-helpers.js';

const skip = fuseUnavailable();
const PROCESSES = 64;

/** What process $1 does: files of its own, renames, appends, listings, and creates and removals in a shared directory. */
const WORK = `
p=$1
mkdir -p own/$p/sub
for i in 1 2 3 4 5 6 7 8; do
  head -c $(( (p * 7 + i * 131) % 5000 + 1 )) /dev/urandom >own/$p/f$i
  echo "line $i" >>own/$p/log
  cp own/$p/f$i own/$p/sub/c$i
  cmp own/$p/f$i own/$p/sub/c$i
  mv own/$p/sub/c$i own/$p/sub/m$i
  stat -c %s own/$p/f$i >/dev/null
  echo $p >shared/p$p-$i && rm shared/p$p-$i
  ls shared >/dev/null
done
rm own/$p/f1 own/$p/sub/m2
chmod 600 own/$p/f3
(cd own/$p && find . -type f | sort | xargs sha256sum) >../sums-$p
`;

describe('a mount under load', { skip }, () => {
  test(`${PROCESSES} processes doing mixed operations at once all succeed, and what each wrote is there`, async (t) => {
    const v = await mountedVolume(t);
    await v.ok(`mkdir own shared && cat >../work.sh <<'EOF'\n${WORK}\nEOF`);
    await v.ok(`pids=(); for p in $(seq 1 ${PROCESSES}); do bash ../work.sh $p & pids+=($!); done; for pid in "\${pids[@]}"; do wait $pid; done`);
    // Read back through the mount, each process's files as it listed them.
    await v.ok(`for p in $(seq 1 ${PROCESSES}); do (cd own/$p && sha256sum -c --quiet ../../../sums-$p && test "$(wc -l <log)" = 8 && test "$(stat -c %a f3)" = 600 && test ! -e f1); done`);
    assert.equal(await v.ok('ls shared | wc -l; ls own | wc -l'), `0\n${PROCESSES}\n`);
    await v.ok('echo still >ok && cat ok');
  });
});
