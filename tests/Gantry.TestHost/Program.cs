using Gantry;
using Gantry.Cli;
using Gantry.TestHost;

// Runs Gantry's command line as the release that the file named by GANTRY_TESTHOST_RELEASE describes.
// The environment, unlike an argument, reaches the node that 'start --daemon' starts again.
GantryHost host;
try
{
    host = ReleaseFile.Load(Environment.GetEnvironmentVariable(ReleaseFile.EnvironmentVariable));
}
catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException)
{
    Console.Error.WriteLine($"Error: {ReleaseFile.EnvironmentVariable}: {e.Message}");
    return ExitCodes.Usage;
}
return await CliApp.RunAsync(args, host);
