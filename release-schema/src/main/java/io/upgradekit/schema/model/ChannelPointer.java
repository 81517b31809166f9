package io.upgradekit.schema.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;

/**
 * Which release a channel (e.g. {@code stable}) points at now. Signed by the release role; the
 * only mutable release document, replaced atomically with a higher sequence.
 *
 * @param type always {@code "channel"}
 * @param app the app
 * @param channel the channel's name
 * @param version the release the channel points at
 * @param sequence increases with every change of the pointer; nodes refuse a lower one
 * @param expires after this instant nodes refuse the pointer (so a frozen mirror cannot hold
 *     nodes back for ever)
 * @param manifest hash and size of the release manifest file the pointer names
 * @param previous earlier versions of this channel, newest first (bounded; absent when none), so
 *     publishers find delta bases without listing directories
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ChannelPointer(
    String type,
    String app,
    String channel,
    String version,
    long sequence,
    Instant expires,
    BlobRef manifest,
    List<String> previous) implements SignedDocument {
  public static final int MAX_PREVIOUS = 32;

  public ChannelPointer {
    Checks.type(type, DocumentType.CHANNEL);
    Names.requireApp(app);
    Names.requireChannel(channel);
    Names.requireVersion(version);
    Checks.positive(sequence, "sequence");
    Checks.required(expires, "expires");
    Checks.required(manifest, "manifest");
    if (previous != null) {
      previous = List.copyOf(previous);
      if (previous.size() > MAX_PREVIOUS) {
        throw Checks.malformed("previous lists at most " + MAX_PREVIOUS + " versions");
      }
      previous.forEach(Names::requireVersion);
    }
  }

  public static ChannelPointer of(String app, String channel, String version, long sequence, Instant expires,
      BlobRef manifest, List<String> previous) {
    return new ChannelPointer(DocumentType.CHANNEL.typeName(), app, channel, version, sequence, expires, manifest,
        previous);
  }

  @Override
  public long serial() {
    return sequence;
  }
}
