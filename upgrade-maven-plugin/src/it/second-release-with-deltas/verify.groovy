import groovy.json.JsonSlurper

def repo = new File(basedir, 'target/repo')
def log = new File(basedir, 'build.log').text
def summary = new JsonSlurper().parse(new File(basedir, 'target/upgrade/release.json'))
assert summary.version == '1.1.0' && summary.status == 'published'
assert summary.deltas.size() == 1
def delta = summary.deltas[0]
assert delta.fromVersion == '1.0.0'
assert delta.blob.size < summary.package.size / 10 : "a one-line change must give a small delta: ${delta}"
assert new File(repo, "blobs/sha256/${delta.blob.sha256.substring(0, 2)}/${delta.blob.sha256}").length() == delta.blob.size

def envelope = new JsonSlurper().parse(new File(repo, 'apps/second-release-with-deltas/channels/stable.json'))
def pointer = new JsonSlurper().parse(new String(envelope.payload.decodeBase64(), 'UTF-8').toCharArray())
assert pointer.version == '1.1.0' && pointer.sequence == 2 && pointer.previous == ['1.0.0']

assert log =~ /delta from 1\.0\.0 +[0-9.]+ (B|KiB) +[0-9.]+% of the full package/
assert log.contains('verified')
true
