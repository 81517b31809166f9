def log = new File(basedir, 'build.log').text
assert log.contains('Repository ') && log.contains('is sound') : 'the untouched repository must pass'
assert log =~ /SIGNATURE_INVALID apps\/tampered-repository\/releases\/1\.1\.0\/release\.json/
assert log =~ /HASH_MISMATCH blobs\/sha256\//
assert log =~ /problem\(s\) in .*each is listed above with its code/
true
