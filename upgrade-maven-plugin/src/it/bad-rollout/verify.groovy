def log = new File(basedir, 'build.log').text
assert log.contains("CONFIG_INVALID: <rollout><minAvailable> is '100%': at 100% no node could ever be taken down"
    + " to update: write at most 99%, or a node count")
assert log.contains('BUILD FAILURE')
assert !new File(basedir, 'target/repo').exists() : 'nothing is written for a refused plan'
true
