import groovy.json.JsonSlurper

def log = new File(basedir, 'build.log').text
def summary = new JsonSlurper().parse(new File(basedir, 'target/upgrade/release.json'))
assert summary.status == 'unchanged' : "the second run must change nothing: ${summary.status}"
assert summary.pointerSequence == 1
assert log.contains('Already published, nothing changed')
assert new File(basedir, 'target/repo/apps/idempotent-rerun/channels/.stable.sequence').list().toList() == ['1']
true
