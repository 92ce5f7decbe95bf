package dev.larder.services.neo4j;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.neo4j.driver.AuthTokens;
import org.neo4j.driver.Config;
import org.neo4j.driver.Driver;
import org.neo4j.driver.GraphDatabase;
import org.neo4j.driver.Logging;
import org.neo4j.driver.Record;
import org.neo4j.driver.Session;

/**
 * Bolt client checks for the Neo4j test server, over the same protocol the adapter uses.
 *
 * <ul>
 *   <li>{@code ping <deadlineSeconds>}: polls {@code RETURN 1} until it answers or the deadline passes.
 *   <li>{@code smoke}: a Cypher write and read back, and a vector index created and queried.
 * </ul>
 *
 * Connection from LARDER_NEO4J_URL / LARDER_NEO4J_USER / LARDER_NEO4J_PASSWORD. Exit 0 on success.
 */
public final class Probe {
  private Probe() {}

  public static void main(String[] args) throws Exception {
    String url = env("LARDER_NEO4J_URL", "bolt://127.0.0.1:7687");
    String user = env("LARDER_NEO4J_USER", "neo4j");
    String password = env("LARDER_NEO4J_PASSWORD", "");
    String cmd = args.length > 0 ? args[0] : "ping";
    Config config =
        Config.builder()
            .withLogging(Logging.none())
            .withConnectionTimeout(2, java.util.concurrent.TimeUnit.SECONDS)
            .withMaxConnectionPoolSize(2)
            .build();
    try (Driver driver = GraphDatabase.driver(url, AuthTokens.basic(user, password), config)) {
      switch (cmd) {
        case "ping" -> System.exit(ping(driver, args.length > 1 ? Double.parseDouble(args[1]) : 0));
        case "smoke" -> System.exit(smoke(driver));
        default -> {
          System.err.println("usage: Probe ping <deadlineSeconds> | smoke");
          System.exit(2);
        }
      }
    }
  }

  private static int ping(Driver driver, double deadlineSeconds) throws InterruptedException {
    long deadline = System.nanoTime() + (long) (deadlineSeconds * 1e9);
    String last = "";
    while (true) {
      try (Session s = driver.session()) {
        long one = s.run("RETURN 1 AS one").single().get("one").asLong();
        if (one == 1) {
          return 0;
        }
      } catch (RuntimeException e) {
        last = e.getClass().getSimpleName() + ": " + e.getMessage();
        // Wrong credentials will not fix themselves.
        if (e instanceof org.neo4j.driver.exceptions.AuthenticationException) {
          System.err.println("neo4j: " + last);
          return 1;
        }
      }
      if (System.nanoTime() >= deadline) {
        System.err.println("neo4j: no answer to RETURN 1 before the deadline: " + last);
        return 1;
      }
      Thread.sleep(250);
    }
  }

  private static int smoke(Driver driver) {
    String id = UUID.randomUUID().toString();
    String label = "LarderSmoke" + id.replace("-", "").substring(0, 12);
    String index = "larder_smoke_" + id.replace("-", "").substring(0, 12);
    try (Session s = driver.session()) {
      s.run(
              "CREATE (n:" + label + " {id: $id, text: 'hello', embedding: $e})",
              Map.of("id", id, "e", List.of(1.0, 0.0, 0.0)))
          .consume();
      s.run(
              "CREATE (n:" + label + " {id: $id, text: 'other', embedding: $e})",
              Map.of("id", id + "-2", "e", List.of(0.0, 1.0, 0.0)))
          .consume();
      Record r = s.run("MATCH (n:" + label + " {id: $id}) RETURN n.text AS t", Map.of("id", id)).single();
      check("write/read", "hello".equals(r.get("t").asString()));

      s.run(
              "CREATE VECTOR INDEX "
                  + index
                  + " IF NOT EXISTS FOR (n:"
                  + label
                  + ") ON (n.embedding) OPTIONS {indexConfig: {`vector.dimensions`: 3,"
                  + " `vector.similarity_function`: 'cosine'}}")
          .consume();
      s.run("CALL db.awaitIndexes(60)").consume();
      Record top =
          s.run(
                  "CALL db.index.vector.queryNodes($index, 1, $q) YIELD node, score"
                      + " RETURN node.id AS id, score",
                  Map.of("index", index, "q", List.of(0.9, 0.1, 0.0)))
              .single();
      check("vector index query", id.equals(top.get("id").asString()));
      String version =
          s.run("CALL dbms.components() YIELD name, versions, edition RETURN versions[0] + ' ' + edition AS v")
              .single()
              .get("v")
              .asString();
      System.out.println("neo4j: server " + version);
    } finally {
      try (Session s = driver.session()) {
        s.run("DROP INDEX " + index + " IF EXISTS").consume();
        s.run("MATCH (n:" + label + ") DETACH DELETE n").consume();
      }
    }
    return 0;
  }

  private static void check(String what, boolean ok) {
    if (!ok) {
      throw new IllegalStateException("neo4j smoke failed: " + what);
    }
    System.out.println("neo4j: " + what + " ok");
  }

  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? fallback : v;
  }
}
