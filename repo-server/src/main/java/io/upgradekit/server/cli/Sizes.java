package io.upgradekit.server.cli;

import io.upgradekit.schema.Quantities;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Byte sizes in the product's one grammar ({@link Quantities}): {@code 1048576}, {@code 512k}, {@code 64m}, {@code 2GB}. */
final class Sizes implements ITypeConverter<Long> {
  @Override
  public Long convert(String value) {
    long size;
    try {
      size = Quantities.parseSize(value);
    } catch (IllegalArgumentException e) {
      throw new TypeConversionException(e.getMessage());
    }
    if (size < 1) {
      throw new TypeConversionException("'" + value + "' must be at least 1 byte");
    }
    return size;
  }
}
