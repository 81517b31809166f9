/**
 * Per-file binary patches of the delta engine: given a file's old and new bytes, {@link
 * io.upgradekit.schema.delta.codec.FileCodec} encodes the smallest patch among the {@link
 * io.upgradekit.schema.delta.codec.PatchMethod}s and decodes patches on nodes.
 *
 * <p>Decoders treat every byte of a patch as hostile: each length is checked against the trusted
 * expected size, the old file's size and fixed caps before anything is allocated for it, zstd frames
 * are bounded by the sizes they must produce, and every failure is an {@link
 * io.upgradekit.schema.UpgradeException} with {@link io.upgradekit.schema.ErrorCode#PATCH_MALFORMED}.
 */
package io.upgradekit.schema.delta.codec;
