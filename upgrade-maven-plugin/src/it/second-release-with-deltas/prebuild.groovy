// Two versions of a 256 KiB distribution that differ in a few bytes of one file.
def lines = (0..<4096).collect { "line ${it}: ${(it * 7919 % 104729).toString().padLeft(6, '0')} lorem ipsum dolor sit amet\n" }
['1.0.0', '1.1.0'].each { v ->
  def dir = new File(basedir, "target/payload/${v}")
  new File(dir, 'lib').mkdirs()
  new File(dir, 'lib/library.txt').text = lines.join('')
  new File(dir, 'app.txt').text = lines.take(2048).join('') + "version ${v}\n"
}
true
