package io.upgradekit.it.bench;

import io.upgradekit.it.UpdateRecord;
import io.upgradekit.it.load.LoadReport;
import io.upgradekit.it.load.Sample;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a {@code restart} switch's gap goes, from four clocks that agree (the machine's): the load
 * generator's answers, hello-service's log ({@code state/service.log}: {@code listening},
 * {@code draining}, {@code stopped}, each stamped to the millisecond), the updater's log ({@code
 * stopped pid N (v)}, {@code started v as pid N}) and its history (the SWITCH step).
 *
 * <p>Every instant may be null when its line is missing (an older service or updater).
 *
 * @param lastOldAnswer the old version's last successful answer to the load
 * @param drainBegan the old version's SIGTERM handler began (it closes its listener first)
 * @param oldStopped the old version's Jetty stopped (the JVM exits right after)
 * @param noticed the updater saw the old process gone
 * @param exec the updater started the new version
 * @param listening the new version listened
 * @param firstNewAnswer the new version's first successful answer to the load
 */
public record SwitchTimeline(Instant lastOldAnswer, Instant drainBegan, Instant oldStopped, Instant noticed,
    Instant exec, Instant listening, Instant firstNewAnswer) {

  private static final Pattern SERVICE_LINE = Pattern.compile("^(\\S+) hello-service (\\S+) (listening|draining|stopped)\\b");
  private static final Pattern UPDATER_LINE = Pattern.compile("^(\\S+) (?:stopped pid \\d+ \\((\\S+)\\)|started (\\S+) as pid \\d+(?: on the held socket .*)?)$");

  /** The steps of the switch, in order, with their names as printed. */
  public static final List<String> PARTS = List.of("last answer → SIGTERM handled", "drain and Jetty stop",
      "stopped → updater noticed the exit", "noticed → exec of the new version (SWITCH)", "exec → listening",
      "listening → first answer");

  /**
   * @param serviceLog the text of the node's {@code state/service.log}
   * @param updaterLog the text of the node's daemon log
   * @param load the load run, {@code target} the node's name in it
   * @param since only lines and answers at or after this instant (the publication) count
   */
  public static SwitchTimeline of(String from, String to, String serviceLog, String updaterLog, LoadReport load,
      int target, Instant since) {
    Instant drainBegan = null;
    Instant oldStopped = null;
    Instant listening = null;
    for (String line : serviceLog.split("\n")) {
      Matcher m = SERVICE_LINE.matcher(line);
      Instant at = m.find() ? instant(m.group(1)) : null;
      if (at == null || at.isBefore(since)) {
        continue;
      }
      if (m.group(2).equals(from) && m.group(3).equals("draining") && drainBegan == null) {
        drainBegan = at;
      } else if (m.group(2).equals(from) && m.group(3).equals("stopped") && oldStopped == null) {
        oldStopped = at;
      } else if (m.group(2).equals(to) && m.group(3).equals("listening") && listening == null) {
        listening = at;
      }
    }
    Instant noticed = null;
    Instant exec = null;
    for (String line : updaterLog.split("\n")) {
      Matcher m = UPDATER_LINE.matcher(line);
      Instant at = m.find() ? instant(m.group(1)) : null;
      if (at == null || at.isBefore(since)) {
        continue;
      }
      if (from.equals(m.group(2)) && noticed == null) {
        noticed = at;
      } else if (to.equals(m.group(3)) && exec == null) {
        exec = at;
      }
    }
    Instant lastOld = null;
    Instant firstNew = null;
    for (Sample s : load.samples()) {
      if (s.target() != target || !s.ok()) {
        continue;
      }
      Instant end = load.startedAt().plusNanos(s.endNanos());
      if (from.equals(s.version()) && (lastOld == null || end.isAfter(lastOld))) {
        lastOld = end;
      } else if (to.equals(s.version()) && (firstNew == null || end.isBefore(firstNew))) {
        firstNew = end;
      }
    }
    return new SwitchTimeline(lastOld, drainBegan, oldStopped, noticed, exec, listening, firstNew);
  }

  /** The durations of {@link #PARTS}, in order; null where an instant is missing. */
  public List<Duration> parts() {
    List<Duration> out = new ArrayList<>();
    out.add(between(lastOldAnswer, drainBegan));
    out.add(between(drainBegan, oldStopped));
    out.add(between(oldStopped, noticed));
    out.add(between(noticed, exec));
    out.add(between(exec, listening));
    out.add(between(listening, firstNewAnswer));
    return out;
  }

  /** The last old answer → the first new one: the gap the load saw. */
  public Duration gap() {
    return between(lastOldAnswer, firstNewAnswer);
  }

  /** The SWITCH step of {@code event}, as a check of {@link #noticed} → {@link #exec}. */
  public static Duration switchStep(UpdateRecord event) {
    return event.steps().stream().filter(s -> s.state().equals("SWITCH")).findFirst()
        .map(s -> Duration.ofMillis(s.durationMillis())).orElse(null);
  }

  private static Duration between(Instant a, Instant b) {
    return a == null || b == null ? null : Duration.between(a, b);
  }

  private static Instant instant(String text) {
    try {
      return Instant.parse(text);
    } catch (DateTimeParseException e) {
      return null;
    }
  }
}
