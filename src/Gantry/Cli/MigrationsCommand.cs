using System.CommandLine;
using System.Text.Json;
using Gantry.Migrations;
using Gantry.Store;

namespace Gantry.Cli;

/// <summary><c>gantry migrations bootstrap|up|finish|list|status|validate|reset</c>.</summary>
internal static class MigrationsCommand
{
    private static readonly Option<bool> Yes = new("--yes", "-y") { Description = "reset: do not ask for confirmation" };
    private static readonly Option<bool> Json = new("--json") { Description = "Print the findings as JSON" };

    public static Command Create(GantryHost host)
    {
        var command = new Command("migrations", "Manage the database schema: bootstrap a new database, upgrade (up, then finish), inspect, reset");
        command.Subcommands.Add(Locking(host, "bootstrap", "Create every table of a new database (both steps of every migration)",
            (runner, ct) => Succeeds(runner.BootstrapAsync(ct))));
        command.Subcommands.Add(Locking(host, "up", "Expand: run the Up step of each new migration; old and new releases can then share the database",
            (runner, ct) => Succeeds(runner.UpAsync(ct))));
        command.Subcommands.Add(Locking(host, "finish", "Contract: run the Finish step of each pending migration, once every node runs the new release",
            (runner, ct) => Succeeds(runner.FinishAsync(ct))));

        command.Subcommands.Add(Locking(host, "rollback", "Undo an upgrade between 'up' and 'finish', so the previous release runs exactly as before",
            (runner, ct) => Succeeds(runner.RollbackAsync(ct)), force: false));
        command.Subcommands.Add(PlanCommand.Create(host));
        command.Subcommands.Add(Locking(host, "repair", "Compare the step journal with the database catalog and fix the journal, or say what it cannot fix",
            async (runner, ct) => (await runner.RepairAsync(ct)).Unfixable == 0 ? ExitCodes.Success : ExitCodes.Error, force: false));

        var list = new Command("list", "List executed, pending and new migrations; the exit code tells the state (0, 3, 4 or 5)");
        list.Options.Add(CommonOptions.DbTimeout);
        list.SetAction((result, ct) => WithDatabase(result, host, "list", (context, runner) => ListAsync(context, runner, ct)));
        command.Subcommands.Add(list);

        var status = new Command("status", "Print the migration state as JSON");
        status.Options.Add(CommonOptions.DbTimeout);
        status.SetAction((result, ct) => WithDatabase(result, host, "status", (context, runner) => StatusAsync(context, runner, ct)));
        command.Subcommands.Add(status);

        var validate = new Command("validate", "Compare the database's migration records with this release's migrations: changed, inserted or removed ones exit 7");
        validate.Options.Add(CommonOptions.DbTimeout);
        validate.Options.Add(Json);
        validate.SetAction((result, ct) => WithDatabase(result, host, "validate", (context, runner) => ValidateCommand.RunAsync(context, runner.Database, result.GetValue(Json), ct)));
        command.Subcommands.Add(validate);

        var reset = new Command("reset", "Drop every table Gantry created (asks first on a terminal; --yes otherwise)");
        reset.Options.Add(CommonOptions.DbTimeout);
        reset.Options.Add(CommonOptions.LockTimeout);
        reset.Options.Add(Yes);
        reset.SetAction((result, ct) => WithDatabase(result, host, "reset", (context, runner) => ResetAsync(context, runner, result.GetValue(Yes), ct)));
        command.Subcommands.Add(reset);
        return command;
    }

    private static Command Locking(GantryHost host, string name, string description, Func<MigrationRunner, CancellationToken, Task<int>> run, bool force = true)
    {
        var command = new Command(name, description);
        command.Options.Add(CommonOptions.DbTimeout);
        command.Options.Add(CommonOptions.LockTimeout);
        command.Options.Add(CommonOptions.DdlLockTimeout);
        command.Options.Add(CommonOptions.DdlRetryFor);
        if (force)
            command.Options.Add(CommonOptions.Force);
        command.Options.Add(CommonOptions.Progress);
        command.SetAction((result, ct) => WithDatabase(result, host, name, async (context, runner) =>
        {
            await ReleaseFence.EnsureAllowedAsync(runner.Database, $"run 'gantry migrations {name}' from Gantry {{0}} or newer", ct);
            return await run(runner, ct);
        }));
        return command;
    }

    private static async Task<int> Succeeds(Task command)
    {
        await command;
        return ExitCodes.Success;
    }

    internal static async Task<int> WithDatabase(ParseResult result, GantryHost host, string name, Func<CliContext, MigrationRunner, Task<int>> run)
    {
        var context = CliContext.Load(result, host);
        await using var database = context.OpenDatabase(result.GetValue(CommonOptions.DbTimeout), $"gantry migrations {name}");
        return await run(context, context.CreateRunner(database, result, name));
    }

    private static async Task<int> ListAsync(CliContext context, MigrationRunner runner, CancellationToken cancellationToken)
    {
        var status = await runner.ReadStatusAsync(cancellationToken);
        var output = context.Output;
        if (status.NeedsBootstrap)
        {
            output.Line(status.IncompleteBootstrap
                ? "Database bootstrap did not complete; run 'gantry migrations bootstrap' to complete it"
                : "Database needs bootstrapping; run 'gantry migrations bootstrap'");
            return ExitCodes.NeedsBootstrap;
        }
        PrintGroup(output, "Executed migrations:", status.Executed);
        PrintGroup(output, "Pending migrations:", status.Pending);
        PrintGroup(output, "New migrations available:", status.New);
        PrintGroup(output, "Migrations recorded by a release this one does not know:", status.Unknown);
        if (status.HasPending)
        {
            output.Line(status.HasNew
                ? "Database has pending migrations from a previous upgrade, and new migrations from this upgrade; run 'gantry migrations finish', then 'gantry migrations up'"
                : "Database has pending migrations; run 'gantry migrations finish' when every node runs this release");
            return ExitCodes.PendingMigrations;
        }
        if (status.HasNew)
        {
            output.Line("New migrations available; run 'gantry migrations up' to proceed");
            return ExitCodes.NewMigrations;
        }
        output.Line("Database is up-to-date");
        return ExitCodes.Success;
    }

    private static void PrintGroup(Output output, string title, IReadOnlyList<SubsystemMigrations> groups)
    {
        if (groups.Count == 0)
            return;
        output.Line(title);
        var width = groups.Max(g => g.Subsystem.Length);
        foreach (var group in groups)
            output.Line($"{group.Subsystem.PadLeft(width)}: {string.Join(", ", group.Migrations)}");
    }

    private static async Task<int> StatusAsync(CliContext context, MigrationRunner runner, CancellationToken cancellationToken)
    {
        var status = await runner.ReadStatusAsync(cancellationToken);
        var document = new Dictionary<string, object>
        {
            ["needs_bootstrap"] = status.NeedsBootstrap,
            ["incomplete_bootstrap"] = status.IncompleteBootstrap,
            ["up_to_date"] = status.IsUpToDate,
            ["executed_migrations"] = ToJson(status.Executed),
            ["pending_migrations"] = ToJson(status.Pending),
            ["new_migrations"] = ToJson(status.New),
            ["unknown_migrations"] = ToJson(status.Unknown),
        };
        context.Output.Data(JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
        return ExitCodes.Success;
    }

    private static List<Dictionary<string, object>> ToJson(IReadOnlyList<SubsystemMigrations> groups) =>
        groups.Select(g => new Dictionary<string, object> { ["subsystem"] = g.Subsystem, ["migrations"] = g.Migrations }).ToList();

    private static async Task<int> ResetAsync(CliContext context, MigrationRunner runner, bool yes, CancellationToken cancellationToken)
    {
        if (!yes)
        {
            if (Console.IsInputRedirected)
                throw new CliException("not a terminal: run 'gantry migrations reset --yes' to reset non-interactively");
            if (!Confirm())
            {
                context.Output.Line("cancelled; nothing was reset");
                return ExitCodes.Error;
            }
        }
        await runner.ResetAsync(cancellationToken);
        return ExitCodes.Success;
    }

    private static bool Confirm()
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            Console.Write("> Are you sure? This drops every table Gantry created and cannot be undone. [y/n] ");
            switch (Console.ReadLine()?.Trim().ToLowerInvariant())
            {
                case "y" or "yes":
                    return true;
                case "n" or "no" or null:
                    return false;
            }
        }
        return false;
    }
}
