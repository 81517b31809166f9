import groovy.json.JsonSlurper

def manifest = new JsonSlurper().parse(new File(basedir, 'target/repo/apps/demo-dist/releases/1.0.0/release.json'))
def payload = new JsonSlurper().parse(new String(manifest.payload.decodeBase64(), 'UTF-8').toCharArray())
def entries = payload.payload.entries.collectEntries { [(it.path): it] }
assert entries.keySet() == ['bin/start.sh', 'conf/app.properties'] as Set
assert entries['bin/start.sh'].executable == true
assert !entries['conf/app.properties'].executable
assert new File(basedir, 'target/repo/apps/demo-dist/channels/beta.json').isFile()
true
