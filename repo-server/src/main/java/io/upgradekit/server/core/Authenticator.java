package io.upgradekit.server.core;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Establishes who sent a request from its {@code Authorization} header, and refuses credentials
 * that are missing, wrong or revoked, with a sentence that says how to fix them:
 *
 * <ul>
 *   <li><b>Publisher</b>: {@code Bearer <token>}, compared with the {@link PublisherToken} through
 *       SHA-256 digests in constant time; a replaced token file takes effect without a restart.
 *   <li><b>Node</b>: {@code Basic base64(<node>:<credential>)}, checked by {@link NodeCredentials}
 *       (an HMAC of the node id and its generation, compared in constant time, against the
 *       revocations in {@link NodeAccess}; a replaced secret file takes effect without a restart):
 *       {@code CREDENTIAL_REVOKED} for a revoked node's credential, {@code AUTH_REQUIRED} for any
 *       other that is not the node's current one.
 * </ul>
 *
 * <p>It decides who the caller is, not what the caller may do: each endpoint asks for the roles
 * it serves ({@link #publisher}, {@link #node}, {@link #nodeOrPublisher}, {@link #identify}), and
 * the services apply their rules to the {@link Caller} (a node claims only for itself). A role
 * that the server was started without (no publisher token, no node secret) is refused with {@code
 * ACCESS_DENIED} naming the option that enables it.
 *
 * <p>Thread-safe; a check costs a digest or at most two HMACs and a map lookup.
 */
public final class Authenticator {
  private final PublisherToken publisherToken;
  private final NodeCredentials nodeCredentials;
  private final OperatorCredentials operators;

  /**
   * @param publisherToken the publisher's token, or null to refuse every publication
   * @param nodeCredentials the node credentials, or null to refuse every node
   */
  public Authenticator(PublisherToken publisherToken, NodeCredentials nodeCredentials) {
    this(publisherToken, nodeCredentials, null);
  }

  /** @param operators the operators' credentials, or null to refuse the rollout API */
  public Authenticator(PublisherToken publisherToken, NodeCredentials nodeCredentials, OperatorCredentials operators) {
    this.publisherToken = publisherToken;
    this.nodeCredentials = nodeCredentials;
    this.operators = operators;
  }

  /**
   * An operator for the rollout API: {@code Bearer <operator token>}. Other valid credentials (a
   * node's, the publisher's) are ACCESS_DENIED (403); none or an unknown token AUTH_REQUIRED (401);
   * a viewer asking to act ACCESS_DENIED.
   *
   * @param act true for an action (operator role), false to read (viewer or operator)
   */
  public Caller.Operator operator(String authorization, boolean act) {
    if (operators == null) {
      throw new UpgradeException(ErrorCode.ACCESS_DENIED, "the rollout API is disabled on this server: start it"
          + " with --operator-credentials FILE");
    }
    String token = credentials(authorization, "Bearer");
    Caller.Operator operator = token == null ? null : operators.match(token);
    if (operator == null) {
      boolean other = false;
      try {
        other = authorization != null && nodeOrPublisher(authorization) != null;
      } catch (UpgradeException e) {
        // not a valid credential of another role either
      }
      if (other) {
        throw new UpgradeException(ErrorCode.ACCESS_DENIED, "rollouts are read and steered with an operator"
            + " credential, never a node's or the publisher's: send 'Authorization: Bearer <operator token>'");
      }
      throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "the rollout API needs 'Authorization: Bearer <operator"
          + " token>' with a token from the server's --operator-credentials file");
    }
    if (act && !operator.mayAct()) {
      throw new UpgradeException(ErrorCode.ACCESS_DENIED, "operator " + operator.name() + " is a viewer: only the"
          + " operator role may act on rollouts");
    }
    return operator;
  }

  /**
   * Whoever the credentials name, whatever the role ({@code GET /v1/whoami}).
   *
   * @throws UpgradeException AUTH_REQUIRED, CREDENTIAL_REVOKED, ACCESS_DENIED (role disabled),
   *     IO_ERROR (a secret file or the node access list became unusable)
   */
  public Caller identify(String authorization) {
    if (authorization == null) {
      throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "send 'Authorization: Bearer <publisher token>' or"
          + " 'Authorization: Basic base64(<node>:<credential>)'");
    }
    String token = credentials(authorization, "Bearer");
    if (token != null && operators != null) {
      Caller.Operator operator = operators.match(token);
      if (operator != null) {
        return operator;
      }
    }
    return nodeOrPublisher(authorization);
  }

  /**
   * The publisher for a bearer token, else a node.
   *
   * @throws UpgradeException as {@link #publisher} or {@link #node}
   */
  public Caller nodeOrPublisher(String authorization) {
    if (credentials(authorization, "Bearer") != null) {
      return publisher(authorization);
    }
    return node(authorization);
  }

  /**
   * The publisher, or a refusal.
   *
   * @throws UpgradeException ACCESS_DENIED if publishing is disabled, AUTH_REQUIRED, IO_ERROR
   */
  public Caller.Publisher publisher(String authorization) {
    if (publisherToken == null) {
      throw new UpgradeException(ErrorCode.ACCESS_DENIED, "publishing is disabled on this server: start it with"
          + " --publish-token-file FILE or the UPGRADEKIT_PUBLISH_TOKEN environment variable");
    }
    String token = credentials(authorization, "Bearer");
    if (token == null) {
      throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "publishing needs 'Authorization: Bearer <token>'"
          + " with the server's publisher token");
    }
    if (!publisherToken.matches(token)) {
      throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "the publisher token is not valid");
    }
    return new Caller.Publisher();
  }

  /**
   * A node, or a refusal.
   *
   * @throws UpgradeException ACCESS_DENIED if node requests are disabled, AUTH_REQUIRED,
   *     CREDENTIAL_REVOKED, IO_ERROR
   */
  public Caller.Node node(String authorization) {
    if (nodeCredentials == null) {
      throw new UpgradeException(ErrorCode.ACCESS_DENIED, "node reports are disabled on this server: start it"
          + " with --node-secret-file FILE");
    }
    String basic = credentials(authorization, "Basic");
    if (basic == null) {
      throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "a node authenticates with 'Authorization: Basic"
          + " base64(<node>:<credential>)'; derive the credential with the server's node-credential command");
    }
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(basic.trim()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "the Basic credentials are not valid base64");
    }
    int colon = decoded.indexOf(':');
    String node = colon < 0 ? decoded : decoded.substring(0, colon);
    String credential = colon < 0 ? null : decoded.substring(colon + 1);
    switch (nodeCredentials.check(node, credential)) {
      case VALID -> {
        return new Caller.Node(node);
      }
      case REVOKED -> throw new UpgradeException(ErrorCode.CREDENTIAL_REVOKED, "the credential of node '" + node
          + "' was revoked on this server; the operator re-admits the node with 'repo-server node-credential"
          + " --readmit " + node + "', which prints its new credential to install as node.credential");
      default -> throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "the credential of node '"
          + Printable.of(node) + "' is not valid");
    }
  }

  /** The credentials after {@code <scheme> }, or null if the header is absent or of another scheme. */
  private static String credentials(String authorization, String scheme) {
    if (authorization == null || authorization.length() <= scheme.length() + 1
        || !authorization.regionMatches(true, 0, scheme, 0, scheme.length())
        || authorization.charAt(scheme.length()) != ' ') {
      return null;
    }
    return authorization.substring(scheme.length() + 1).trim();
  }
}
