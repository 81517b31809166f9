import groovy.json.JsonSlurper

def repo = new File(basedir, 'target/repo')
def envelope = new JsonSlurper().parse(new File(repo, 'sets/reactor-set/1.0.0.json'))
assert envelope.payloadType == 'application/vnd.upgradekit.release-set+json'
def set = new JsonSlurper().parse(new String(envelope.payload.decodeBase64(), 'UTF-8').toCharArray())
assert set.components.collect { "${it.app} ${it.version} after ${it.depends_on}" } ==
    ['database 1.0.0 after []', 'cache 1.0.0 after [database]', 'api 1.0.0 after [cache]']
assert set.rollback_policy == 'auto' && set.strategy == 'rolling'
def summary = new JsonSlurper().parse(new File(basedir, 'target/upgrade/release-set.json'))
assert summary.order == ['database', 'cache', 'api']
def log = new File(basedir, 'build.log').text
assert log.contains("No release-set.yaml: the set is the build's 3 modules that release a component")
// Every module's signed plan names the set the build publishes after them, so none starts by itself.
['database', 'cache', 'api'].each { app ->
  def manifest = new JsonSlurper().parse(new File(repo, "apps/${app}/releases/1.0.0/release.json"))
  def release = new JsonSlurper().parse(new String(manifest.payload.decodeBase64(), 'UTF-8').toCharArray())
  assert release.rollout.set == 'reactor-set'
}
assert log.contains('The plan names release set reactor-set: upgrade:release-set runs later in this build')
assert !log.contains('name no release set')
// The set was published once, after every module's release.
assert log.indexOf('Released set reactor-set 1.0.0') > log.lastIndexOf('Released api 1.0.0')
true
