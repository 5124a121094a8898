using System.CommandLine;
using Gantry.Declarative;
using Gantry.Entities.Definitions;
using Gantry.Migrations;
using Gantry.Store;

namespace Gantry.Cli;

/// <summary>
/// <c>gantry config init|parse|db_export|db_import</c>: declarative documents in and out of a database,
/// with Kong's verbs. Every entity goes through the write path's validation; an import is one
/// transaction, so a document with any error, or an import that is interrupted, changes nothing.
/// </summary>
internal static class ConfigCommand
{
    public static Command Create(GantryHost host)
    {
        var command = new Command("config", "Declarative configuration: write an example, validate a document, export or import a database");
        command.Subcommands.Add(Init());
        command.Subcommands.Add(Parse(host));
        command.Subcommands.Add(Export(host));
        command.Subcommands.Add(Import(host));
        return command;
    }

    private static Command Init()
    {
        var file = new Argument<string>("file") { Description = "Where to write the example (default: kong.yml in the current folder)", Arity = ArgumentArity.ZeroOrOne, DefaultValueFactory = _ => "kong.yml" };
        var command = new Command("init", "Write a commented example declarative configuration; an existing file is never overwritten");
        command.Arguments.Add(file);
        command.SetAction(result =>
        {
            var path = Path.GetFullPath(result.GetValue(file)!);
            var output = Output.Console(CommonOptions.VerbosityOf(result));
            try
            {
                using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
                using var writer = new StreamWriter(stream);
                writer.Write(DeclarativeExample.Text);
                writer.Write('\n');
            }
            catch (IOException) when (File.Exists(path) || Directory.Exists(path))
            {
                throw new CliException($"{path} already exists; remove it or name another file");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"cannot write {path}: {e.Message}");
            }
            output.Line($"Created {path}; check it with 'gantry config parse {result.GetValue(file)}'");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Parse(GantryHost host)
    {
        var file = new Argument<string>("file") { Description = "The declarative document (YAML or JSON)" };
        var command = new Command("parse", $"Validate a declarative document without writing it; exit {ExitCodes.InvalidDocument} naming every problem");
        command.Arguments.Add(file);
        command.SetAction(result =>
        {
            var context = CliContext.Load(result, host);
            var path = result.GetValue(file)!;
            var config = LoadDocument(context, path);
            context.Output.Data($"parse successful: {path} declares {config.Entities.Count} entities");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Export(GantryHost host)
    {
        var file = new Argument<string?>("file") { Description = "Where to write the document (default: stdout)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("db_export", "Write every entity of the database as a declarative document (format 3.0)");
        command.Arguments.Add(file);
        command.Options.Add(CommonOptions.DbTimeout);
        command.SetAction(async (result, ct) =>
        {
            var context = CliContext.Load(result, host);
            await using var database = context.OpenDatabase(result.GetValue(CommonOptions.DbTimeout), "gantry config db_export");
            await CheckDatabaseAsync(context, database, result, writing: false, ct);
            var dao = new EntityDao(database, context.Registry(), Guid.NewGuid());
            var document = await DeclarativeExporter.ExportAsync(dao, ct);
            var yaml = DeclarativeText.ToYaml(document);
            var count = DeclarativeExporter.Counts(document).Sum(c => c.Count);
            if (result.GetValue(file) is { } path)
            {
                // Written beside the target and renamed, so that an interrupted export leaves no half file.
                var full = Path.GetFullPath(path);
                var temporary = full + ".tmp-" + Environment.ProcessId;
                await File.WriteAllTextAsync(temporary, yaml, ct);
                File.Move(temporary, full, overwrite: true);
                context.Output.Line($"exported {count} entities to {full}");
            }
            else
            {
                Console.Out.Write(yaml);
                await Console.Out.FlushAsync(ct);
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Import(GantryHost host)
    {
        var file = new Argument<string>("file") { Description = "The declarative document (YAML or JSON)" };
        var command = new Command("db_import", "Write a declarative document into a bootstrapped database, in one transaction: all of it or nothing");
        command.Arguments.Add(file);
        command.Options.Add(CommonOptions.DbTimeout);
        command.SetAction(async (result, ct) =>
        {
            var context = CliContext.Load(result, host);
            var path = result.GetValue(file)!;
            var config = LoadDocument(context, path);
            var output = context.Output;
            await using var database = context.OpenDatabase(result.GetValue(CommonOptions.DbTimeout), "gantry config db_import");
            await CheckDatabaseAsync(context, database, result, writing: true, ct);
            var dao = new EntityDao(database, context.Registry(), Guid.NewGuid());
            output.Line($"parse successful: {config.Entities.Count} entities; importing in one transaction");
            var progress = config.Entities.Count >= DeclarativeImporter.ProgressInterval ? new ImportProgressPrinter(output) : null;
            ImportSummary summary;
            try
            {
                summary = await DeclarativeImporter.ImportAsync(dao, config, progress, ct);
            }
            catch (DeclarativeImportException e)
            {
                throw new CliException($"{e.Message}; the import was rolled back, nothing was changed");
            }
            output.Line($"import successful: {summary.Created} created, {summary.Updated} updated");
            foreach (var count in summary.Counts)
                output.Line($"  {count.EntityType}: {count.Created} created, {count.Updated} updated");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The document's configuration, or every problem it has on stderr and <see cref="ExitCodes.InvalidDocument"/>.</summary>
    private static DeclarativeConfig LoadDocument(CliContext context, string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read {path}: {e.Message}");
        }
        var load = new DeclarativeLoader(context.Registry()).Load(text);
        if (load.Config is { } config)
            return config;
        var lines = load.Errors.SelectMany(e => e.Lines()).ToList();
        foreach (var line in lines)
            context.Output.Error(line);
        throw new CliException($"{path} is invalid: {lines.Count} {(lines.Count == 1 ? "error" : "errors")}; nothing was changed", ExitCodes.InvalidDocument);
    }

    /// <summary>
    /// The database must hold this release's schema: not bootstrapped, new migrations (no 'up' yet) and,
    /// for an import, pending ones (between 'up' and 'finish', when the Admin API refuses writes too) are
    /// refused with the messages 'start' and 'migrations list' give.
    /// </summary>
    private static async Task CheckDatabaseAsync(CliContext context, IDatabase database, ParseResult result, bool writing, CancellationToken ct)
    {
        const string Bootstrap = "Database needs bootstrapping; run 'gantry migrations bootstrap'";
        if (database is SqliteDatabase && !await database.ExistsAsync(ct))
            throw new CliException(Bootstrap, ExitCodes.NeedsBootstrap);
        await ReleaseFence.EnsureAllowedAsync(database, "upgrade to {0} or newer", ct);
        var status = await context.CreateRunner(database, result, "list").ReadStatusAsync(ct);
        if (status.NeedsBootstrap)
        {
            throw new CliException(status.IncompleteBootstrap
                ? "the bootstrap of this database did not complete; run 'gantry migrations bootstrap' to complete it"
                : Bootstrap, ExitCodes.NeedsBootstrap);
        }
        if (status.HasNew)
            throw new CliException($"New migrations available ({MigrationRunner.Describe(status.New)}); run 'gantry migrations up' to proceed", ExitCodes.NewMigrations);
        if (writing && status.HasPending)
            throw new CliException($"Database has pending migrations ({MigrationRunner.Describe(status.Pending)}); run 'gantry migrations finish' once every node runs this release", ExitCodes.PendingMigrations);
    }

    /// <summary>
    /// Prints how far an import is, synchronously on the importing thread (<see cref="Progress{T}"/> would
    /// post to the thread pool and could print after the summary): a rewriting line on a terminal, a line
    /// per report otherwise.
    /// </summary>
    private sealed class ImportProgressPrinter(Output output) : IProgress<ImportProgress>
    {
        private readonly bool _terminal = !Console.IsOutputRedirected;

        public void Report(ImportProgress value)
        {
            var text = $"importing: {value.Written} of {value.Total} entities written (not committed yet)";
            if (_terminal)
                output.Partial("\r" + text);
            else
                output.Line(text);
        }
    }
}
