import groovy.json.JsonSlurper

def log = new File(basedir, 'build.log').text
assert log.contains('conflicting-version 1.0.0 is already published')
assert log.contains('different content')
assert log.contains('<version>')
def manifest = new JsonSlurper().parse(new File(basedir, 'target/repo/apps/conflicting-version/releases/1.0.0/release.json'))
def payload = new JsonSlurper().parse(new String(manifest.payload.decodeBase64(), 'UTF-8').toCharArray())
def first = java.security.MessageDigest.getInstance('SHA-256').digest(new File(basedir, 'first/app.txt').bytes).encodeHex().toString()
assert payload.payload.entries[0].sha256 == first : 'the published release must be untouched'
true
