package review

import (
	"context"
	"log/slog"

	"github.com/headend/headend/analysis/review"
	apifield "github.com/headend/headend/api/field"
	"github.com/headend/headend/fieldops"
)

// KeepScans wraps the field tools so that the result of every scan that
// completes is saved for the archive checks (SaveScan). A scan whose
// result cannot be saved is still answered; the failure is logged.
func (s *Service) KeepScans(tools apifield.Service) apifield.Service {
	return &keepScans{Service: tools, s: s}
}

type keepScans struct {
	apifield.Service
	s *Service
}

func (k *keepScans) Scan(ctx context.Context, channel string, rq fieldops.ScanRequest, progress func(done, total int)) (*fieldops.ScanResult, error) {
	res, err := k.Service.Scan(ctx, channel, rq, progress)
	if err != nil || res == nil {
		return res, err
	}
	if err := k.s.SaveScan(ctx, review.ScanOf(channel, rq, res, k.s.Now())); err != nil {
		log := k.s.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("the scan's result is not kept for the archive checks", "channel", channel, "err", err)
	}
	return res, nil
}
