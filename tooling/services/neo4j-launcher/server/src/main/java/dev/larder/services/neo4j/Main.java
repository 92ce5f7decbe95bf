package dev.larder.services.neo4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.logging.Level;
import org.neo4j.logging.log4j.Log4jLogProvider;

/**
 * Runs Neo4j 5 community edition embedded, with its Bolt connector on a loopback address and
 * authentication on, for Larder's integration tests. No HTTP connector, no plugins (no APOC).
 *
 * <p>Usage: {@code java -cp 'lib/*' dev.larder.services.neo4j.Main <homeDir> <boltHost> <boltPort>}.
 * The password of the {@code neo4j} user is read from the environment variable
 * {@code LARDER_NEO4J_PASSWORD} (kept off the command line) and set on every start, so the
 * server never asks for a password change; then {@code <homeDir>/larder-ready} is written with the
 * process id. Stops cleanly on SIGTERM/SIGINT.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: Main <homeDir> <boltHost> <boltPort>");
      System.exit(2);
    }
    Path home = Path.of(args[0]).toAbsolutePath();
    String host = args[1];
    int port = Integer.parseInt(args[2]);
    String user = env("LARDER_NEO4J_USER", "neo4j");
    String password = env("LARDER_NEO4J_PASSWORD", null);
    if (password == null || password.length() < 8) {
      System.err.println("LARDER_NEO4J_PASSWORD must be set (8 characters at least)");
      System.exit(2);
    }
    long pageCacheMb = Long.parseLong(env("LARDER_NEO4J_PAGECACHE_MB", "256"));
    Files.createDirectories(home);
    // Written once the password is set and the default database answers: Bolt listens earlier
    // than that, so the services script waits for this file before its Bolt check.
    Path ready = home.resolve("larder-ready");
    Files.deleteIfExists(ready);

    long t0 = System.nanoTime();
    DatabaseManagementService dbms =
        new DatabaseManagementServiceBuilder(home)
            .setUserLogProvider(new Log4jLogProvider(System.out, Level.INFO))
            .setConfig(GraphDatabaseSettings.auth_enabled, true)
            .setConfig(BoltConnector.enabled, true)
            .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
            .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
            .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
            .setConfig(GraphDatabaseSettings.pagecache_memory, pageCacheMb * 1024L * 1024L)
            .setConfig(GraphDatabaseSettings.keep_logical_logs, "128M size")
            .setConfig(GraphDatabaseSettings.udc_enabled, false)
            // Internal settings (pinned Neo4j version): without them Bolt takes ~10 s to stop.
            .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofMillis(500))
            .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofMillis(500))
            .build();

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.out.println("[larder-neo4j] shutting down");
                  try {
                    Files.deleteIfExists(ready);
                  } catch (java.io.IOException ignored) {
                    // best effort
                  }
                  try {
                    dbms.shutdown();
                  } finally {
                    stopped.countDown();
                  }
                },
                "larder-neo4j-shutdown"));

    setPassword(dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME), user, password);
    // Fail fast if the default database is not usable.
    dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME)
        .executeTransactionally("RETURN 1");
    Files.writeString(ready, Long.toString(ProcessHandle.current().pid()));
    System.out.printf(
        "[larder-neo4j] ready: bolt://%s:%d user=%s (%.1fs)%n",
        host, port, user, (System.nanoTime() - t0) / 1e9);
    stopped.await();
  }

  private static void setPassword(GraphDatabaseService system, String user, String password) {
    List<Map<String, Object>> rows =
        system.executeTransactionally(
            "SHOW USERS YIELD user WHERE user = $user RETURN user",
            Map.of("user", user),
            r -> r.stream().toList());
    if (rows.isEmpty()) {
      system.executeTransactionally(
          "CREATE USER $user SET PASSWORD $password CHANGE NOT REQUIRED",
          Map.of("user", user, "password", password));
      return;
    }
    try {
      system.executeTransactionally(
          "ALTER USER $user SET PASSWORD $password CHANGE NOT REQUIRED",
          Map.of("user", user, "password", password));
    } catch (RuntimeException e) {
      // Neo4j refuses to "change" a password to the one already set: nothing to do then.
      String msg = String.valueOf(e.getMessage());
      if (!msg.contains("cannot be the same")) {
        throw e;
      }
    }
  }

  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? fallback : v;
  }
}
