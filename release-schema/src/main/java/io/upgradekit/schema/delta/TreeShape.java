package io.upgradekit.schema.delta;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.TreeEntry;
import io.upgradekit.schema.model.TreeEntry.EntryType;
import io.upgradekit.schema.model.TreePaths;
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
  /**
   * Segments walked to resolve all of a tree's links, at most: a real tree needs a few per link;
   * a hostile one could otherwise make each of its links walk 40 hops of 512 segments.
   */
  static final int MAX_STEPS = 1 << 22;

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
    int[] steps = {0};
    for (TreeEntry e : tree.entries()) {
      if (e.type() == EntryType.SYMLINK) {
        resolve(e, byPath, code, steps);
      }
    }
  }

  /**
   * Follows the link through the tree's links; throws if any step leaves the tree or it loops.
   * {@code steps} counts the segments walked for the whole tree, against {@link #MAX_STEPS}.
   */
  private static void resolve(TreeEntry link, Map<String, TreeEntry> byPath, ErrorCode code, int[] steps) {
    Deque<String> pending = new ArrayDeque<>();
    // The current directory, as segments and as a path (with each segment's start, to go up).
    List<String> at = parentOf(link.path());
    StringBuilder path = new StringBuilder(String.join("/", at));
    Deque<Integer> starts = new ArrayDeque<>();
    for (int i = 0, from = 0; i < at.size(); i++) {
      starts.push(from);
      from += at.get(i).length() + 1;
    }
    pushAll(pending, link.target());
    int hops = 0;
    while (!pending.isEmpty()) {
      if (++steps[0] > MAX_STEPS) {
        throw new UpgradeException(code, "the tree's links take more than " + MAX_STEPS + " steps to resolve");
      }
      String segment = pending.pop();
      if (segment.isEmpty() || segment.equals(".")) {
        continue;
      }
      if (segment.equals("..")) {
        if (at.isEmpty()) {
          throw new UpgradeException(code, "link '" + link.path() + "' -> '" + link.target() + "' leads outside the tree");
        }
        at.remove(at.size() - 1);
        path.setLength(Math.max(0, starts.pop() - 1));
        continue;
      }
      starts.push(path.length() == 0 ? 0 : path.length() + 1);
      path.append(path.length() == 0 ? "" : "/").append(segment);
      at.add(segment);
      // No path longer than the cap is in the tree: no need to look.
      TreeEntry hit = path.length() <= TreePaths.MAX_PATH_LENGTH ? byPath.get(path.toString()) : null;
      if (hit != null && hit.type() == EntryType.SYMLINK) {
        if (++hops > MAX_HOPS) {
          throw new UpgradeException(code, "link '" + link.path() + "' loops through other links");
        }
        at.remove(at.size() - 1);
        path.setLength(Math.max(0, starts.pop() - 1));
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
