package io.upgradekit.server.core;

import io.upgradekit.schema.model.Names;

/**
 * Who sent a request, as the {@link Authenticator} established it. The services take the caller
 * and apply their rules to it (a node claims and reports only for itself); the HTTP layer only
 * routes.
 *
 * <p>One record per role. A new role (an operator credential, a dashboard session) is a new record
 * here, a new method of {@link Authenticator}, and a decision in every service that takes a
 * caller: the services refuse callers they do not know, so a new role can do nothing until it is
 * given something.
 */
public sealed interface Caller permits Caller.Publisher, Caller.Node, Caller.Operator {
  /** The role's name as {@code GET /v1/whoami} answers it. */
  String role();

  /** The publisher: holds the publisher token, delivers signed releases, pointers and trust roots. */
  record Publisher() implements Caller {
    @Override
    public String role() {
      return "publisher";
    }
  }

  /**
   * A node, with its own credential.
   *
   * @param id the node id, valid ({@link Names#requireNodeId})
   */
  record Node(String id) implements Caller {
    public Node {
      Names.requireNodeId(id);
    }

    @Override
    public String role() {
      return "node";
    }
  }

  /**
   * An operator, from the operators' credentials: reads rollouts (viewer) or also acts on them
   * (operator). Never a node's or the publisher's credential.
   *
   * @param name recorded as the actor of the operator's actions
   * @param access what the operator may do
   */
  record Operator(String name, Role access) implements Caller {
    public enum Role {
      OPERATOR, VIEWER
    }

    public Operator {
      Names.requireNodeId(name);
      java.util.Objects.requireNonNull(access, "access");
    }

    @Override
    public String role() {
      return access == Role.OPERATOR ? "operator" : "viewer";
    }

    public boolean mayAct() {
      return access == Role.OPERATOR;
    }
  }
}
