package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.TreeEntry;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A small, obviously correct stand-in for the delta engine, so that the library's tests do not
 * depend on the real one: a "delta" lists the new tree's files, each either copied from an old file
 * with the same hash or shipped whole. Files only (no links, no empty directories).
 */
final class CopyingEngine implements DeltaEngine {
  private static final int MAGIC = 0x55474b54;

  @Override
  public PayloadTree scan(Path tree) throws IOException {
    List<TreeEntry> entries = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(tree)) {
      for (Path file : walk.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList()) {
        entries.add(TreeEntry.file(tree.relativize(file).toString().replace('\\', '/'), Files.size(file),
            Hashes.sha256(file), Files.isExecutable(file)));
      }
    }
    return new PayloadTree(entries);
  }

  @Override
  public void diff(Path oldTree, Path newTree, Path delta) throws IOException {
    Map<String, String> oldByHash = new HashMap<>();
    String baseHash = oldTree == null ? PayloadTree.empty().treeHash() : scan(oldTree).treeHash();
    if (oldTree != null) {
      for (TreeEntry e : scan(oldTree).entries()) {
        oldByHash.putIfAbsent(e.sha256(), e.path());
      }
    }
    try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(delta))) {
      out.writeInt(MAGIC);
      out.writeUTF(baseHash);
      List<TreeEntry> entries = scan(newTree).entries();
      out.writeInt(entries.size());
      for (TreeEntry e : entries) {
        out.writeUTF(e.path());
        String from = oldByHash.get(e.sha256());
        if (from != null) {
          out.writeBoolean(true);
          out.writeUTF(from);
        } else {
          out.writeBoolean(false);
          out.writeLong(e.size());
          try (InputStream in = Files.newInputStream(newTree.resolve(e.path()))) {
            in.transferTo(out);
          }
        }
      }
    }
  }

  @Override
  public void apply(Path oldTree, Path delta, Path outTree) throws IOException {
    String baseHash = oldTree == null ? PayloadTree.empty().treeHash() : scan(oldTree).treeHash();
    Files.createDirectories(outTree);
    try (DataInputStream in = new DataInputStream(Files.newInputStream(delta))) {
      if (in.readInt() != MAGIC) {
        throw new UpgradeException(ErrorCode.PATCH_MALFORMED, delta + " is not a delta");
      }
      if (!in.readUTF().equals(baseHash)) {
        throw new UpgradeException(ErrorCode.BASE_MISMATCH, delta + " is for another base tree");
      }
      int count = in.readInt();
      for (int i = 0; i < count; i++) {
        Path target = outTree.resolve(in.readUTF());
        Files.createDirectories(target.getParent());
        if (in.readBoolean()) {
          Files.copy(oldTree.resolve(in.readUTF()), target);
        } else {
          long size = in.readLong();
          try (OutputStream out = Files.newOutputStream(target)) {
            byte[] bytes = in.readNBytes((int) size);
            if (bytes.length != size) {
              throw new UpgradeException(ErrorCode.PATCH_MALFORMED, delta + " is truncated");
            }
            out.write(bytes);
          }
        }
      }
    }
  }

  @Override
  public void unpack(Path archive, Path target) {
    throw new UnsupportedOperationException("archives are the real engine's business");
  }
}
