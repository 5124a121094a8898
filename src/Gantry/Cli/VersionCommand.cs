using System.CommandLine;

namespace Gantry.Cli;

internal static class VersionCommand
{
    public static Command Create()
    {
        var command = new Command("version", "Print Gantry's version");
        command.SetAction(_ =>
        {
            Console.WriteLine($"Gantry {GantryInfo.Version}");
            return ExitCodes.Success;
        });
        return command;
    }
}
