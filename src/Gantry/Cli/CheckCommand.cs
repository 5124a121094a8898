using System.CommandLine;

namespace Gantry.Cli;

/// <summary><c>gantry check [file]</c>: validates every property of a configuration file.</summary>
internal static class CheckCommand
{
    public static Command Create(GantryHost host)
    {
        var file = new Argument<string?>("file")
        {
            Description = "Configuration file to check (default: -c, else /etc/gantry/gantry.conf)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var command = new Command("check", "Validate a configuration file: every property's type, range, allowed values and listen syntax");
        command.Arguments.Add(file);
        command.SetAction(result =>
        {
            var context = CliContext.Load(result, host, result.GetValue(file));
            var where = context.Config.FilePath ?? "(defaults and environment)";
            context.Output.Data($"configuration at {where} is valid");
            return ExitCodes.Success;
        });
        return command;
    }
}
