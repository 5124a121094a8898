using Gantry.Tests.Support;

namespace Gantry.Tests.Admin;

/// <summary>Paging through a large collection and filtering by tags, on each store.</summary>
public abstract class PaginationTests(AdminNode node)
{
    [Fact]
    public async Task Paging_2500_entities_by_1000_loses_and_repeats_nothing()
    {
        // Key sets are used by no other test of this class, so the collection holds exactly what we create.
        var created = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 2500), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var entity = await node.CreateAsync("/key-sets", new { name = $"page-{i}" });
            created.Add(entity["id"]!.GetValue<string>());
        });

        var seen = new List<string>();
        var pages = 0;
        string? next = "/key-sets?size=1000";
        while (next is not null)
        {
            var (status, body) = await node.GetAsync(next);
            Assert.Equal(200, status);
            var data = body!["data"]!.AsArray();
            seen.AddRange(data.Select(e => e!["id"]!.GetValue<string>()));
            pages++;
            next = body["next"]?.GetValue<string>();
            if (next is not null)
                Assert.Contains("offset=", next);
            Assert.True(pages <= 3, "more pages than 2500 / 1000 needs");
        }
        Assert.Equal(3, pages);
        Assert.Equal(2500, seen.Count);
        Assert.Equal(2500, seen.Distinct().Count());
        Assert.True(created.ToHashSet().SetEquals(seen));
    }

    [Fact]
    public async Task Page_size_and_offset_are_checked()
    {
        var tooBig = await node.GetAsync("/services?size=1001");
        Assert.Equal(400, tooBig.Status);
        Assert.Equal(9, tooBig.Body!["code"]!.GetValue<int>());
        var badOffset = await node.GetAsync("/services?offset=nope");
        Assert.Equal(400, badOffset.Status);
        Assert.Equal(7, badOffset.Body!["code"]!.GetValue<int>());
        Assert.Equal("'nope' is not a valid offset: bad base64 encoding", badOffset.Body["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Tag_filters_match_all_with_commas_and_any_with_slashes()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        string T(string t) => $"{t}{run}";
        var both = await node.CreateAsync("/consumers", new { username = $"both-{run}", tags = new[] { T("a"), T("b") } });
        var onlyA = await node.CreateAsync("/consumers", new { username = $"a-{run}", tags = new[] { T("a") } });
        var onlyB = await node.CreateAsync("/consumers", new { username = $"b-{run}", tags = new[] { T("b") } });
        await node.CreateAsync("/consumers", new { username = $"none-{run}", tags = new[] { T("c") } });

        async Task<HashSet<string>> Names(string filter)
        {
            var (status, body) = await node.GetAsync($"/consumers?tags={Uri.EscapeDataString(filter)}");
            Assert.Equal(200, status);
            return body!["data"]!.AsArray().Select(e => e!["username"]!.GetValue<string>()).ToHashSet();
        }

        Assert.Equal([both["username"]!.GetValue<string>()], await Names($"{T("a")},{T("b")}"));
        Assert.Equal(new HashSet<string> { both["username"]!.GetValue<string>(), onlyA["username"]!.GetValue<string>(), onlyB["username"]!.GetValue<string>() },
            await Names($"{T("a")}/{T("b")}"));
        Assert.Equal(new HashSet<string> { both["username"]!.GetValue<string>(), onlyA["username"]!.GetValue<string>() }, await Names(T("a")));
    }

    [Fact]
    public async Task More_than_five_tags_or_mixed_operators_are_refused()
    {
        var six = await node.GetAsync("/services?tags=a,b,c,d,e,f");
        Assert.Equal(400, six.Status);
        Assert.Equal(11, six.Body!["code"]!.GetValue<int>());
        Assert.Contains("cannot query more than 5 tags", six.Body["message"]!.GetValue<string>());
        Assert.Equal(200, (await node.GetAsync("/services?tags=a,b,c,d,e")).Status);
        var mixed = await node.GetAsync("/services?tags=a,b/c");
        Assert.Equal(400, mixed.Status);
        Assert.Contains("invalid filter syntax", mixed.Body!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Tag_filters_work_on_nested_collections()
    {
        var upstream = await node.CreateAsync("/upstreams", new { name = $"tags-{Guid.NewGuid():N}"[..20] });
        var path = $"/upstreams/{upstream["id"]}/targets";
        await node.CreateAsync(path, new { target = "a.test", tags = new[] { "blue" } });
        await node.CreateAsync(path, new { target = "b.test", tags = new[] { "green" } });
        var (_, body) = await node.GetAsync($"{path}?tags=blue");
        Assert.Equal("a.test:8000", Assert.Single(body!["data"]!.AsArray())!["target"]!.GetValue<string>());
    }
}

[Collection(AdminApiCollection.Name)]
public sealed class SqlitePaginationTests(SqliteAdminNode node) : PaginationTests(node), IClassFixture<SqliteAdminNode>;

[Collection(AdminApiCollection.Name)]
public sealed class PostgresPaginationTests(PostgresAdminNode node) : PaginationTests(node), IClassFixture<PostgresAdminNode>;
