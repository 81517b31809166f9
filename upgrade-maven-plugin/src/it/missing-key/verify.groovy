def log = new File(basedir, 'build.log').text
assert log.contains('<keyFile> is not set')
assert log.contains("mvn upgrade:keygen")
assert log.contains('UPGRADE_SIGNING_KEY')
assert !new File(basedir, 'target/repo/apps').exists()
true
