import groovy.json.JsonSlurper

def repo = new File(basedir, 'target/repo')
def log = new File(basedir, 'build.log').text

// keygen: private key 0600, public key beside it, trust root in the repository
def key = new File(basedir, 'target/keys/release.pem')
assert key.isFile() && new File(basedir, 'target/keys/release.pem.pub').isFile()
assert java.nio.file.Files.getPosixFilePermissions(key.toPath()).collect { it.toString() }.sort() == ['OWNER_READ', 'OWNER_WRITE']
assert new File(repo, 'root.json').isFile() && new File(repo, 'roots/1.root.json').isFile()
assert log =~ /Created signing key [0-9a-f]{64}/

// release: blobs, manifest, pointer; the jar is a one-file tree named <app>.jar
def pointer = new File(repo, 'apps/first-release/channels/stable.json')
def manifest = new File(repo, 'apps/first-release/releases/1.0.0/release.json')
assert pointer.isFile() && manifest.isFile()
def payload = new JsonSlurper().parse(new String(new JsonSlurper().parse(manifest).payload.decodeBase64(), 'UTF-8').toCharArray())
assert payload.payload.entries*.path == ['first-release.jar']
def summary = new JsonSlurper().parse(new File(basedir, 'target/upgrade/release.json'))
assert summary.status == 'published'
assert summary.version == '1.0.0' && summary.channel == 'stable'
def blob = summary.package.sha256
assert new File(repo, "blobs/sha256/${blob.substring(0, 2)}/${blob}").length() == summary.package.size

assert log.contains('Released first-release 1.0.0')
assert log.contains('full package')
assert log.contains('outputTimestamp is not set')
assert !log.contains('PRIVATE KEY')
true
