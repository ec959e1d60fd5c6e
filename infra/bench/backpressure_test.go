package main

import (
	"bytes"
	"context"
	"image/png"
	"testing"
	"time"
)

// TestBackpressureDeliversEverythingOnce runs the backpressure part on a
// small batch: every message arrives once, whatever the refusals.
func TestBackpressureDeliversEverythingOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := backpressure{messages: 300, rate: 100, rtt: 2 * time.Millisecond, timeout: 10 * time.Second, maxInvocations: 20}.run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Lost != 0 || res.Duplicated != 0 || res.Delivered != 300 {
		t.Fatalf("%v", res)
	}
	if res.Requests < 30 || res.Refused > res.Requests {
		t.Fatalf("request counts do not add up: %v", res)
	}
}

// TestSimulatedBurstDeliversEverythingOnce runs the simulation on a small
// burst that must be split over several invocations and deadlines.
func TestSimulatedBurstDeliversEverythingOnce(t *testing.T) {
	sim := defaultSimulation(50)
	sim.Events, sim.BatchSize, sim.Containers, sim.Timeout = 20_000, 5000, 4, 5*time.Second
	res := sim.run()
	if res.Lost != 0 || res.Duplicated != 0 || res.Delivered != sim.Events {
		t.Fatalf("lost %d, duplicated %d, delivered %d of %d", res.Lost, res.Duplicated, res.Delivered, sim.Events)
	}
	if res.HeldBack == 0 {
		t.Fatal("batches of 500 requests at 50/s under a 4 s budget must hold messages back for a later delivery")
	}
	if res.Accepted != sim.Events/10 {
		t.Fatalf("%d requests accepted, want one per ten events (%d)", res.Accepted, sim.Events/10)
	}
	if again := sim.run(); again.Requests != res.Requests || again.LagP99 != res.LagP99 {
		t.Fatal("the simulation is not deterministic for a seed")
	}
	img, err := burstPlot(res, sim.Rate, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(img)); err != nil {
		t.Fatalf("the plot is not a PNG: %v", err)
	}
}

func TestScaleModel(t *testing.T) {
	m := scaleModel{EventsPerSec: 10_000, FanOut: 1, BatchSize: 1000, Concurrency: 16, RTT: 20 * time.Millisecond, Limit: 500}
	r := m.row()
	if r.PusherRequests != 1000 || r.AblyRequests != 100 || r.Invocations != 10 || r.WriteUnits != 20_000 || r.PusherMaxEvents != 5000 {
		t.Fatalf("%+v", r)
	}
	m.FanOut, m.EventsPerSec = 250, 10
	r = m.row()
	if r.PusherRequests != 30 || r.Messages != 2500 || r.AblyRequests != 25 {
		t.Fatalf("fan-out 250: %+v", r)
	}
}
