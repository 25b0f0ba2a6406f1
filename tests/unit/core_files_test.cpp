// Whole-file reading and atomic writing in core: the messages every module shows.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "segmenta/files.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const IoError& e) {
    return e.what();
  }
  return "(no IoError)";
}
}  // namespace

TEST(CoreFiles, ReadFileNamesThePathAndTheReason) {
  EXPECT_EQ(message_of([] { read_file("/nonexistent/customers.csv"); }),
            "/nonexistent/customers.csv: cannot open: No such file or directory");
  const std::string dir = test::temp_dir("core_files_read");
  const std::string path = dir + "/bytes.bin";
  const std::string bytes("a\0b\r\n\xff", 6);
  write_file_atomic(path, bytes);
  EXPECT_EQ(read_file(path), bytes);
  // The reason, not only that reading failed.
  EXPECT_EQ(message_of([&] { read_file(dir); }), dir + ": cannot read: Is a directory");
}

TEST(CoreFiles, ReadStreamReadsToTheEnd) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  std::string big(200000, 'x');
  big[123456] = '\n';
  ASSERT_EQ(std::fwrite(big.data(), 1, big.size(), f), big.size());
  std::rewind(f);
  EXPECT_EQ(read_stream(f, "<stdin>"), big);
  EXPECT_EQ(read_stream(f, "<stdin>"), "");  // at the end already
  std::fclose(f);
}

TEST(CoreFiles, AtomicFileReplacesOnlyOnCommit) {
  const std::string dir = test::temp_dir("core_files_atomic");
  const std::string path = dir + "/out.txt";
  write_file_atomic(path, "old");
  {
    AtomicFile f(path);
    f.write("new ");
    f << "content";
    EXPECT_EQ(read_file(path), "old");  // untouched until the commit
  }
  EXPECT_EQ(read_file(path), "old");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
  {
    AtomicFile f(path);
    f.write("new ");
    f << "content";
    f.commit();
    f.commit();  // a second commit does nothing
    EXPECT_THROW(f.write("more"), IoError);
  }
  EXPECT_EQ(read_file(path), "new content");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
  EXPECT_EQ(message_of([&] { AtomicFile f(dir + "/missing/out.txt"); }),
            dir + "/missing/out.txt: cannot create: No such file or directory");
}

TEST(CoreFiles, AtomicFileRefusesToReplaceWhatIsNotARegularFile) {
  const std::string dir = test::temp_dir("core_files_special");
  std::filesystem::create_directories(dir + "/sub");
  EXPECT_EQ(message_of([&] { write_file_atomic(dir + "/sub", "x"); }),
            dir + "/sub: is a directory, not a regular file; refusing to replace it");
  write_file_atomic(dir + "/target.txt", "kept\n");
  std::filesystem::create_symlink(dir + "/target.txt", dir + "/link.txt");
  EXPECT_EQ(message_of([&] { write_file_atomic(dir + "/link.txt", "x"); }),
            dir + "/link.txt: is a symbolic link, not a regular file; refusing to replace it");
  EXPECT_EQ(read_file(dir + "/target.txt"), "kept\n");
  EXPECT_TRUE(std::filesystem::is_symlink(dir + "/link.txt"));
  EXPECT_EQ(message_of([&] { write_file_atomic("/dev/null", "x"); }),
            "/dev/null: is a device, not a regular file; refusing to replace it");
}

TEST(CoreFiles, SigtermRemovesTheTemporaryOfAnUncommittedFile) {
  const std::string dir = test::temp_dir("core_files_sigterm");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    install_temporary_cleanup();
    AtomicFile f(dir + "/out.csv");
    f.write("half written");
    ::raise(SIGTERM);
    ::_exit(0);  // not reached: the handler re-raises with the default action
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 0u);  // neither out.csv nor its temporary
}
