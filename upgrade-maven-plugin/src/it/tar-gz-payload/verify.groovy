import groovy.json.JsonSlurper

def manifest = new JsonSlurper().parse(new File(basedir, 'target/repo/apps/tar-gz-payload/releases/1.0.0/release.json'))
def payload = new JsonSlurper().parse(new String(manifest.payload.decodeBase64(), 'UTF-8').toCharArray())
def entries = payload.payload.entries.collectEntries { [(it.path): it] }
assert entries.keySet() == ['bin/run', 'lib/app.txt'] as Set
assert entries['bin/run'].executable == true
def summary = new JsonSlurper().parse(new File(basedir, 'target/upgrade/release.json'))
assert summary.status == 'published'
true
