using Gantry.Node;

namespace Gantry.Tests.Node;

public sealed class NodePrefixTests
{
    [Fact]
    public void A_pid_file_naming_this_process_or_a_dead_one_is_stale_and_another_live_process_is_running()
    {
        var root = Directory.CreateTempSubdirectory("gantry-prefix-").FullName;
        try
        {
            var prefix = new NodePrefix(root);
            Directory.CreateDirectory(Path.GetDirectoryName(prefix.PidFile)!);
            Assert.Null(prefix.RunningPid());
            // What a container restarted after a crash finds: its own pid (1 there) in the old file.
            File.WriteAllText(prefix.PidFile, Environment.ProcessId.ToString());
            Assert.Null(prefix.RunningPid());
            using var other = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sleep", "30"))!;
            try
            {
                File.WriteAllText(prefix.PidFile, other.Id.ToString());
                Assert.Equal(other.Id, prefix.RunningPid());
            }
            finally
            {
                other.Kill();
                other.WaitForExit();
            }
            Assert.Null(prefix.RunningPid());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
