// The PostgreSQL pieces that need no server: URIs without passwords, the choice of
// source, and what a source says before it connects. tests/db runs the rest against
// a real server.
#include <gtest/gtest.h>

#include "segmenta/postgres.hpp"

using namespace segmenta;

TEST(Postgres, RecognisesUris) {
  EXPECT_TRUE(is_postgres_uri("postgresql://host/db"));
  EXPECT_TRUE(is_postgres_uri("postgres://host/db"));
  EXPECT_TRUE(is_postgres_uri("postgresql:///db"));
  EXPECT_FALSE(is_postgres_uri("customers.csv"));
  EXPECT_FALSE(is_postgres_uri("-"));
  EXPECT_FALSE(is_postgres_uri("postgresql.csv"));
}

TEST(Postgres, RedactsPasswords) {
  EXPECT_EQ(redact_postgres_uri("postgresql://ann:s3cr%40t@db.example:5432/crm"), "postgresql://ann@db.example:5432/crm");
  EXPECT_EQ(redact_postgres_uri("postgres://ann:pw@h/db?sslmode=require&password=pw2&application_name=x"),
            "postgres://ann@h/db?sslmode=require&application_name=x");
  EXPECT_EQ(redact_postgres_uri("postgresql://h/db?password=only"), "postgresql://h/db");
  // Nothing to remove.
  EXPECT_EQ(redact_postgres_uri("postgresql://ann@h:5/db"), "postgresql://ann@h:5/db");
  EXPECT_EQ(redact_postgres_uri("postgresql:///db"), "postgresql:///db");
  EXPECT_EQ(redact_postgres_uri("postgresql://h"), "postgresql://h");
  // An @ in the password (escaped or not, the last @ ends the user info).
  EXPECT_EQ(redact_postgres_uri("postgresql://ann:a@b@h/db"), "postgresql://ann@h/db");
  // A colon without password.
  EXPECT_EQ(redact_postgres_uri("postgresql://ann:@h/db"), "postgresql://ann@h/db");
  // Multiple hosts.
  EXPECT_EQ(redact_postgres_uri("postgresql://ann:pw@h1:1,h2:2/db"), "postgresql://ann@h1:1,h2:2/db");
}

TEST(Postgres, SourceNeedsATableOrAQuery) {
  const std::string uri = "postgresql://ann:secret@127.0.0.1:1/db";
  for (const PostgresQuery& q : {PostgresQuery{}, PostgresQuery{"t", "SELECT 1"}}) {
    try {
      open_source(uri, CsvOptions{}, q);
      FAIL() << "no error";
    } catch (const InvalidArgument& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.find("secret"), std::string::npos) << m;
      if (postgres_supported())
        EXPECT_NE(m.find(q.table.empty() ? "give the table to read" : "not both"), std::string::npos) << m;
      else
        EXPECT_NE(m.find("built without PostgreSQL support"), std::string::npos) << m;
    }
  }
  // open_source without a table or query says the same.
  EXPECT_THROW(open_source(uri), InvalidArgument);
  // A table or query with a file is a usage error.
  try {
    open_source("customers.csv", CsvOptions{}, PostgresQuery{"t", ""});
    FAIL() << "no error";
  } catch (const ParameterError& e) {
    EXPECT_EQ(e.parameter(), "table");
  }
}

TEST(Postgres, UnreachableServerIsAnIoErrorWithoutPassword) {
  if (!postgres_supported()) GTEST_SKIP() << "built without PostgreSQL support";
  // Port 1 on the loopback: refused at once.
  PostgresSource source("postgresql://ann:secret@127.0.0.1:1/db?connect_timeout=5", PostgresQuery{"t", ""});
  EXPECT_EQ(source.name(), "postgresql://ann@127.0.0.1:1/db?connect_timeout=5");
  try {
    source.read();
    FAIL() << "no error";
  } catch (const IoError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("connecting to postgresql://ann@127.0.0.1:1/db?connect_timeout=5: ", 0), 0u) << m;
    EXPECT_EQ(m.find("secret"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}
