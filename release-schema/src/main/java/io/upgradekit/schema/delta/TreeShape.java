package io.upgradekit.schema.delta;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.TreeEntry;
import io.upgradekit.schema.model.TreeEntry.EntryType;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks that a tree can be materialized safely: nothing lives under a file or a link, listed
 * directories are empty, and every symbolic link, followed through the tree's other links the way
 * the kernel would, stays inside the tree. (Each link being relative and "inside" on its own is not
 * enough: {@code a/b -> ..} plus {@code c -> a/b/..} escapes.)
 */
final class TreeShape {
  private static final int MAX_HOPS = 40;

  private TreeShape() {}

  static void require(PayloadTree tree, ErrorCode code) {
    Map<String, TreeEntry> byPath = new HashMap<>(tree.entries().size() * 2);
    for (TreeEntry e : tree.entries()) {
      byPath.put(e.path(), e);
    }
    for (TreeEntry e : tree.entries()) {
      String path = e.path();
      for (int slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1)) {
        TreeEntry parent = byPath.get(path.substring(0, slash));
        if (parent != null) {
          throw new UpgradeException(code, "'" + path + "' lies under '" + parent.path() + "', which is a "
              + parent.type().name().toLowerCase() + (parent.type() == EntryType.DIRECTORY ? " listed as empty" : ""));
        }
      }
    }
    for (TreeEntry e : tree.entries()) {
      if (e.type() == EntryType.SYMLINK) {
        resolve(e, byPath, code);
      }
    }
  }

  /** Follows the link through the tree's links; throws if any step leaves the tree or it loops. */
  private static void resolve(TreeEntry link, Map<String, TreeEntry> byPath, ErrorCode code) {
    Deque<String> pending = new ArrayDeque<>();
    List<String> at = parentOf(link.path());
    pushAll(pending, link.target());
    int hops = 0;
    while (!pending.isEmpty()) {
      String segment = pending.pop();
      if (segment.isEmpty() || segment.equals(".")) {
        continue;
      }
      if (segment.equals("..")) {
        if (at.isEmpty()) {
          throw new UpgradeException(code, "link '" + link.path() + "' -> '" + link.target() + "' leads outside the tree");
        }
        at.remove(at.size() - 1);
        continue;
      }
      at.add(segment);
      TreeEntry hit = byPath.get(String.join("/", at));
      if (hit != null && hit.type() == EntryType.SYMLINK) {
        if (++hops > MAX_HOPS) {
          throw new UpgradeException(code, "link '" + link.path() + "' loops through other links");
        }
        at.remove(at.size() - 1);
        pushAll(pending, hit.target());
      }
    }
  }

  private static void pushAll(Deque<String> pending, String target) {
    String[] parts = target.split("/", -1);
    for (int i = parts.length - 1; i >= 0; i--) {
      pending.push(parts[i]);
    }
  }

  private static List<String> parentOf(String path) {
    List<String> parts = new ArrayList<>(List.of(path.split("/")));
    parts.remove(parts.size() - 1);
    return parts;
  }
}
