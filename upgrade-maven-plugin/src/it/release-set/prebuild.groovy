// The fleet as repo-server's inventory snapshot would hold it: three nodes per component, two zones,
// all heard of just now (so all available).
import groovy.json.JsonOutput
def now = java.time.Instant.now().toString()
def nodes = []
['database', 'cache', 'api', 'gateway'].each { app ->
  (1..3).each { i ->
    nodes << [heartbeat: [node: "${app}-${i}", app: app, channel: 'stable', version: 'v1',
                          labels: [zone: i % 2 ? 'a' : 'b'], state: 'IDLE', healthy: true, intervalSeconds: 30,
                          sentAt: now], receivedAt: now]
  }
}
def target = new File(basedir, 'target')
target.mkdirs()
new File(target, 'inventory.json').text = JsonOutput.toJson([type: 'inventory', instance: 'repo-1', sequence: 1,
                                                               writtenAt: now, nodes: nodes])
true
