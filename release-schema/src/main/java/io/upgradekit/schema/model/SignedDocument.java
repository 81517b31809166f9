package io.upgradekit.schema.model;

import java.time.Instant;

/** A document that is signed and therefore expires and carries an increasing number. */
public interface SignedDocument {
  /** After this instant readers refuse the document. */
  Instant expires();

  /** The document's version or sequence: readers refuse one lower than the last they trusted. */
  long serial();
}
