package io.upgradekit.schema.model;

import java.util.HashSet;
import java.util.List;

/**
 * The keys of one role and how many of them must sign.
 *
 * @param keyIds the ids of the keys that may sign for the role, each once
 * @param threshold how many distinct keys must sign, from 1 to the number of keys
 */
public record RoleKeys(List<String> keyIds, int threshold) {
  public RoleKeys {
    keyIds = List.copyOf(Checks.required(keyIds, "keyIds"));
    if (new HashSet<>(keyIds).size() != keyIds.size()) {
      throw Checks.malformed("keyIds lists a key more than once");
    }
    if (threshold < 1 || threshold > keyIds.size()) {
      throw Checks.malformed("threshold " + threshold + " must be between 1 and the number of keys (" + keyIds.size() + ")");
    }
  }
}
