package strategy

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/goccy/go-yaml"
)

// This file mirrors the strategies and rule trees of shared/campaigns/demo.yaml
// (TestFixtureMirrorsDemo checks it against the file when the file is present).

func mustRate(s string) Rate {
	r, err := ParseRate(s)
	if err != nil {
		panic(err)
	}
	return r
}

func lockTree(id, n string) Tree {
	return Tree{
		ID: id, Name: "规则树", Root: NodeLock,
		Nodes: []Node{{Key: NodeLock, Value: n}, {Key: NodeStock}, {Key: NodeLuckAward, Value: "101:1,100"}},
		Lines: []Line{
			{From: NodeLock, To: NodeStock, When: Allow},
			{From: NodeLock, To: NodeLuckAward, When: TakeOver},
			{From: NodeStock, To: NodeLuckAward, When: Allow},
		},
	}
}

func demoTrees() []Tree {
	return []Tree{
		{
			ID: "tree_luck_award", Name: "规则树-兜底奖励", Root: NodeStock,
			Nodes: []Node{{Key: NodeStock}, {Key: NodeLuckAward, Value: "101:1,100"}},
			Lines: []Line{{From: NodeStock, To: NodeLuckAward, When: Allow}},
		},
		lockTree("tree_lock_1", "1"),
		lockTree("tree_lock_2", "2"),
		lockTree("tree_lock_3", "3"),
	}
}

func aw(id int64, title, subtitle string, count int64, rate, tree string, sort int) Award {
	return Award{AwardID: id, Title: title, Subtitle: subtitle, Count: count, Rate: mustRate(rate), TreeID: tree, Sort: sort}
}

func demoStrategies() []Strategy {
	const luck = "tree_luck_award"
	return []Strategy{
		{
			ID: 100001, Desc: "抽奖策略",
			Rules: []Rule{
				{Model: RuleBlacklist, Value: "101:user001,user002,user003"},
				{Model: RuleWeight, Value: "60:102,103,104,105 200:106,107 1000:105"},
			},
			Awards: []Award{
				aw(101, "随机积分", "", 80000, "0.3", luck, 1),
				aw(102, "5次使用", "", 10000, "0.2", luck, 2),
				aw(103, "10次使用", "", 5000, "0.2", luck, 3),
				aw(104, "20次使用", "", 4000, "0.1", luck, 4),
				aw(105, "增加gpt-4对话模型", "", 600, "0.1", luck, 5),
				aw(106, "增加dall-e-2画图模型", "", 200, "0.05", luck, 6),
				aw(107, "增加dall-e-3画图模型", "抽奖1次后解锁", 200, "0.04", luck, 7),
				aw(108, "增加100次使用", "抽奖2次后解锁", 199, "0.0099", luck, 8),
				aw(109, "解锁全部模型", "抽奖6次后解锁", 1, "0.0001", luck, 9),
			},
		},
		{
			ID: 100002, Desc: "抽奖策略-非完整1概率",
			Awards: []Award{
				aw(101, "随机积分", "", 1, "0.5", luck, 1),
				aw(102, "5次使用", "", 1, "0.1", luck, 2),
				aw(106, "增加dall-e-2画图模型", "", 1, "0.01", luck, 3),
			},
		},
		{
			ID: 100003, Desc: "抽奖策略-验证lock",
			Awards: []Award{
				aw(107, "增加dall-e-3画图模型", "抽奖1次后解锁", 200, "0.04", luck, 7),
				aw(108, "增加100次使用", "抽奖2次后解锁", 199, "0.0099", luck, 8),
				aw(109, "解锁全部模型", "抽奖6次后解锁", 1, "0.0001", luck, 9),
			},
		},
		{
			ID: 100004, Desc: "抽奖策略-随机抽奖",
			Awards: []Award{
				aw(109, "解锁全部模型", "抽奖6次后解锁", 1, "1", luck, 9),
			},
		},
		{
			ID: 100005, Desc: "抽奖策略-测试概率计算",
			Awards: []Award{
				aw(101, "随机积分", "", 80000, "0.03", luck, 1),
				aw(102, "随机积分", "", 80000, "0.03", luck, 1),
				aw(103, "随机积分", "", 80000, "0.03", luck, 1),
				aw(104, "随机积分", "", 80000, "0.03", luck, 1),
				aw(105, "随机积分", "", 80000, "0.001", luck, 1),
			},
		},
		{
			ID: 100006, Desc: "抽奖策略-规则树",
			Rules: []Rule{
				{Model: RuleBlacklist, Value: "101:user001,user002,user003"},
				{Model: RuleWeight, Value: "10:102,103 70:106,107 1000:104,105"},
			},
			Awards: []Award{
				aw(101, "随机积分", "", 10000, "0.79", luck, 1),
				aw(102, "OpenAI会员卡", "", 100, "0.03", luck, 2),
				aw(103, "支付优惠券", "", 100, "0.03", luck, 3),
				aw(104, "小米台灯", "", 100, "0.03", luck, 4),
				aw(105, "小米su7周体验", "抽奖3次后解锁", 100, "0.03", "tree_lock_3", 5),
				aw(106, "轻奢办公椅", "抽奖2次后解锁", 100, "0.03", "tree_lock_2", 6),
				aw(107, "小霸王游戏机", "抽奖1次后解锁", 100, "0.03", "tree_lock_1", 7),
				aw(108, "暴走玩偶", "", 100, "0.0003", luck, 8),
			},
		},
		{
			ID: 10007, Desc: "抽奖策略-规则树",
			Awards: []Award{
				aw(101, "随机积分", "", 1000000, "0.1", luck, 1),
				aw(110, "1次使用次数", "", 1000000, "0.8", luck, 2),
				aw(111, "5次使用次数", "", 1000000, "0.08", luck, 3),
				aw(112, "10次使用次数", "", 1000000, "0.01", luck, 4),
				aw(113, "50次使用次数", "抽奖3次后解锁", 1000000, "0.0002", "tree_lock_3", 5),
				aw(114, "20次使用次数", "抽奖2次后解锁", 1000000, "0.004", "tree_lock_2", 6),
				aw(115, "25次使用次数", "抽奖1次后解锁", 1000000, "0.0008", "tree_lock_1", 7),
				aw(116, "15次使用次数", "", 1000000, "0.005", luck, 8),
			},
		},
	}
}

// demoStrategy returns one demo strategy by id.
func demoStrategy(t testing.TB, id int64) Strategy {
	t.Helper()
	for _, s := range demoStrategies() {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no demo strategy %d", id)
	return Strategy{}
}

// withStock returns copies of strategies whose every award has count n.
func withStock(ss []Strategy, n int64) []Strategy {
	out := make([]Strategy, len(ss))
	for i, s := range ss {
		s.Awards = append([]Award(nil), s.Awards...)
		for j := range s.Awards {
			s.Awards[j].Count = n
		}
		out[i] = s
	}
	return out
}

// TestFixtureMirrorsDemo compares the fixture with shared/campaigns/demo.yaml.
func TestFixtureMirrorsDemo(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "campaigns", "demo.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("demo campaign not found next to the module: %v", err)
	}
	var file struct {
		RuleTrees []struct {
			ID, Name, Root string
			Nodes          []struct{ Key, Value string }
			Lines          []struct{ From, To, When string }
		} `yaml:"rule_trees"`
		Strategies []struct {
			ID     int64
			Desc   string
			Rules  []struct{ Model, Value string }
			Awards []struct {
				Award           int64
				Title, Subtitle string
				Count           int64
				Rate, Tree      string
				Sort            int
			}
		}
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var trees []Tree
	for _, ft := range file.RuleTrees {
		tr := Tree{ID: ft.ID, Name: ft.Name, Root: NodeKey(ft.Root)}
		for _, n := range ft.Nodes {
			tr.Nodes = append(tr.Nodes, Node{Key: NodeKey(n.Key), Value: n.Value})
		}
		for _, l := range ft.Lines {
			tr.Lines = append(tr.Lines, Line{From: NodeKey(l.From), To: NodeKey(l.To), When: Verdict(l.When)})
		}
		trees = append(trees, tr)
	}
	var strategies []Strategy
	for _, fs := range file.Strategies {
		s := Strategy{ID: fs.ID, Desc: fs.Desc}
		for _, r := range fs.Rules {
			s.Rules = append(s.Rules, Rule{Model: RuleModel(r.Model), Value: r.Value})
		}
		for _, a := range fs.Awards {
			s.Awards = append(s.Awards, aw(a.Award, a.Title, a.Subtitle, a.Count, a.Rate, a.Tree, a.Sort))
		}
		strategies = append(strategies, s)
	}
	if got, want := trees, demoTrees(); !reflect.DeepEqual(got, want) {
		t.Errorf("trees differ from %s:\n got %+v\nwant %+v", path, got, want)
	}
	if got, want := strategies, demoStrategies(); !reflect.DeepEqual(got, want) {
		t.Errorf("strategies differ from %s:\n got %+v\nwant %+v", path, got, want)
	}
}
