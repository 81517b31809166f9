import groovy.json.JsonSlurper

def log = new File(basedir, 'build.log').text
def pointerFile = new File(basedir, 'target/repo/apps/resign/channels/stable.json')
def envelope = new JsonSlurper().parse(pointerFile)
def pointer = new JsonSlurper().parse(Base64.decoder.decode(envelope.payload))
assert pointer.version == '1.0.0'
assert pointer.sequence == 2 : "one re-sign wrote a pointer, the one with resignWithinDays did not: ${pointer.sequence}"
assert log.contains('Re-signed channel stable of resign: 1.0.0, sequence 1 -> 2')
assert log.contains('more than 10 days away (<resignWithinDays>): nothing to re-sign')
assert log.contains('METADATA_EXPIRED: the release manifest of resign 1.0.0, which channel stable points at, expires at')
assert log.contains('Publish a new release to the channel before then')
assert log.contains('BUILD FAILURE')
true
