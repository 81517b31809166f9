def log = new File(basedir, 'build.log').text
assert log.contains('Skipping upgrade:release: pom packaging has no payload')
assert log.contains('Skipping upgrade:release (upgrade.skip)')
assert !new File(basedir, 'target/repo').exists()
['upgrade.repository', 'upgrade.keyFile', 'upgrade.app', 'upgrade.version', 'upgrade.channel', 'upgrade.payload',
 'upgrade.deltaCount', 'upgrade.skip'].each { assert log.contains("User property: ${it}") : "help must document ${it}" }
assert log.contains('UPGRADE_SIGNING_KEY')
assert log.contains('rollout') && log.contains('upgrade.rollout.strategy') : 'help must document <rollout>'
true
