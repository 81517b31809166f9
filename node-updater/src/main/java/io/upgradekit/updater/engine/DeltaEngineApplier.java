package io.upgradekit.updater.engine;

import io.upgradekit.schema.delta.DeltaApplier;
import io.upgradekit.schema.delta.DeltaHeader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The production {@link PayloadApplier}: release-schema's delta engine. A version directory holds
 * the payload tree; a single-file payload (one jar) is the one file inside it, so the engine gets
 * that file as the old payload and writes the new file into the (created) output directory.
 */
public final class DeltaEngineApplier implements PayloadApplier {
  private final int threads;

  /** @param threads files produced at once (the agent shares the node with its service: keep it small) */
  public DeltaEngineApplier(int threads) {
    this.threads = Math.max(1, threads);
  }

  @Override
  public void apply(Path blob, Path baseDir, Path outDir, String expectedTreeHash) throws IOException {
    DeltaHeader header = DeltaApplier.readHeader(blob);
    Path old = baseDir;
    if (baseDir != null && header.baseIsSingleFile()) {
      old = baseDir.resolve(header.baseName());
    }
    if (header.targetIsSingleFile()) {
      Files.createDirectory(outDir);
    }
    DeltaApplier.apply(DeltaApplier.ApplyRequest.of(old, blob, outDir).withThreads(threads)
        .withExpectedTargetTreeHash(expectedTreeHash));
  }
}
