package io.upgradekit.plugin.release;

import io.upgradekit.schema.delta.DeltaApplier;
import io.upgradekit.schema.delta.DeltaBuilder;
import io.upgradekit.schema.delta.DeltaEvent;
import io.upgradekit.schema.delta.Payload;
import io.upgradekit.schema.delta.PayloadReader;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.model.PayloadTree;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * {@link DeltaEngine} over release-schema's delta engine ({@code io.upgradekit.schema.delta}). The
 * engine's own proof-by-apply is switched off: {@link ReleaseBuilder} applies every blob itself, with
 * the same code path a node uses, before anything is published.
 */
public final class SchemaDeltaEngine implements DeltaEngine {
  private final Consumer<Event> events;

  public SchemaDeltaEngine(Consumer<Event> events) {
    this.events = Objects.requireNonNull(events, "events");
  }

  @Override
  public PayloadTree scan(Path tree) {
    try (Payload payload = PayloadReader.read(tree)) {
      return payload.tree();
    }
  }

  @Override
  public void diff(Path oldTree, Path newTree, Path delta) {
    DeltaBuilder.diff(DeltaBuilder.DiffRequest.of(oldTree, newTree, delta)
        .withVerify(false)
        .withScratch(delta.toAbsolutePath().getParent())
        .withListener(this::progress));
  }

  @Override
  public void apply(Path oldTree, Path delta, Path outTree) {
    DeltaApplier.apply(DeltaApplier.ApplyRequest.of(oldTree, delta, outTree).withListener(this::progress));
  }

  @Override
  public void unpack(Path archive, Path target) throws IOException {
    Path scratch = target.toAbsolutePath().getParent();
    Files.createDirectories(scratch);
    try (Payload payload = PayloadReader.read(archive, PayloadReader.Options.defaults().withScratch(scratch))) {
      // The engine unpacks into a private directory it deletes on close: take the tree out first.
      DurableFiles.renameAtomically(payload.root(), target);
    }
  }

  private void progress(DeltaEvent event) {
    if (event.total() > 0 && event.stage() != DeltaEvent.Stage.DONE) {
      events.accept(new Event.Progress(event.stage().name().toLowerCase(Locale.ROOT), event.done(), event.total()));
    }
  }
}
