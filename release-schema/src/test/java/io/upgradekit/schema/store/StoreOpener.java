package io.upgradekit.schema.store;

import java.io.IOException;

/**
 * Opens a store from an address, in any process: how {@link StoreRaceWorker} reaches the store
 * under test. Implementations have a public no-argument constructor.
 */
public interface StoreOpener {
  RepositoryStore open(String address) throws IOException;
}
