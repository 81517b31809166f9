/**
 * The agent's vocabulary, shared by the engine, the journal and the command line: the state
 * machine ({@link io.upgradekit.updater.event.UpdateState}, its table of legal transitions and
 * failure policies), what an event is about ({@link io.upgradekit.updater.event.EventKind}), how
 * steps and events end ({@link io.upgradekit.updater.event.StepOutcome}, {@link
 * io.upgradekit.updater.event.Outcome}), and the one event stream the agent emits ({@link
 * io.upgradekit.updater.event.AgentEvent}). Depends on nothing of the agent.
 */
package io.upgradekit.updater.event;
